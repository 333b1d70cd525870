#include "cpu/thread_pool.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace forgenet::pool {
namespace {

// How long a worker keeps polling for the next job before it sleeps: at least a call of a few ms,
// so that back-to-back calls find it awake. A wake-up from sleep costs far more than it seems on a
// VM: measured here, a worker woken for each 1.2 ms GEMM after a pause came too late for every one
// (the caller had run both chunks), went back to sleep, and 2 threads ran at 1 thread's speed. Past
// kSpinHot the poll yields between looks, so a busy machine's other threads get the core.
constexpr auto kSpin = std::chrono::microseconds(3000);
constexpr auto kSpinHot = std::chrono::microseconds(100);
constexpr int kMaxThreads = 1024;
constexpr int kMaxChunks = 0x3fff;  // what the job word holds (see Pool)

// One step of a polling loop: tells the core it is spinning (on x86 `pause` also frees the sibling
// hyperthread's resources); the pool builds on any CPU, not only the x86 ones the SIMD paths need.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

thread_local bool t_inside = false;
thread_local int t_slot = 0;
thread_local int t_team = 1;  // the size of the team the thread is a member of

// One job at a time. `state` packs the job's generation, whether it is a team, how many threads may
// take part, the next chunk to claim and the number of chunks into one word; a claim is one
// compare-exchange on it, so every check a thread makes before claiming holds for the chunk it gets.
//   bits 63..40 generation | 39 team | 38..28 threads | 27..14 next chunk | 13..0 chunks
struct Pool {
  std::atomic<uint64_t> state{0};
  std::atomic<int> done{0};     // chunks finished in the current job
  std::atomic<bool> failed{false};
  ChunkFn fn = nullptr;
  void* ctx = nullptr;
  std::exception_ptr error;
  std::mutex error_mu;

  std::atomic<int> bar_count{0}, bar_gen{0};  // team_barrier()

  std::mutex submit;            // one caller at a time; others run serially
  std::mutex sleep_mu;
  std::condition_variable wake;
  std::atomic<int> sleepers{0};
  int workers = 0;              // slots 1..workers exist

  static uint64_t gen_of(uint64_t v) { return v >> 40; }
  static bool team_of(uint64_t v) { return (v >> 39) & 1; }
  static int threads_of(uint64_t v) { return static_cast<int>((v >> 28) & 0x7ff); }
  static int next_of(uint64_t v) { return static_cast<int>((v >> 14) & 0x3fff); }
  static int chunks_of(uint64_t v) { return static_cast<int>(v & 0x3fff); }
  // whether the thread in `slot` (having served the team of generation team_gen) may claim from v
  static bool claimable(uint64_t v, int slot, uint64_t team_gen) {
    return next_of(v) < chunks_of(v) && slot < threads_of(v) && !(team_of(v) && gen_of(v) == team_gen);
  }

  // Runs one claimed chunk (an exception is kept; later chunks of a failed job only count as done).
  void run_chunk(int k, int chunks) {
    if (!failed.load(std::memory_order_relaxed)) {
      try {
        fn(ctx, k, chunks);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
    done.fetch_add(1, std::memory_order_acq_rel);
  }

  // Claims and runs one chunk of the current job: 0 when there was none for this thread, 1 when it
  // ran a loop's chunk, 2 a team's (a thread takes one team chunk only: its body waits for the others).
  int claim(uint64_t seen, int slot, uint64_t& team_gen) {
    do {
      if (!claimable(seen, slot, team_gen)) return 0;
    } while (!state.compare_exchange_weak(seen, seen + (uint64_t{1} << 14), std::memory_order_acq_rel,
                                          std::memory_order_acquire));
    if (!team_of(seen)) {
      run_chunk(next_of(seen), chunks_of(seen));
      return 1;
    }
    team_gen = gen_of(seen);
    t_team = chunks_of(seen);
    run_chunk(next_of(seen), chunks_of(seen));
    t_team = 1;
    return 2;
  }

  void worker(int slot) {
    t_slot = slot;
    t_inside = true;
    uint64_t last_team_gen = ~uint64_t{0};
    auto idle_since = std::chrono::steady_clock::now();
    for (;;) {
      uint64_t v = state.load(std::memory_order_acquire);
      if (claimable(v, slot, last_team_gen)) {
        while (claim(v, slot, last_team_gen) == 1) v = state.load(std::memory_order_acquire);
        idle_since = std::chrono::steady_clock::now();
        continue;
      }
      for (int i = 0; i < 64; ++i) cpu_relax();
      const auto idle = std::chrono::steady_clock::now() - idle_since;
      if (idle < kSpinHot) continue;
      if (idle < kSpin) {
        std::this_thread::yield();
        continue;
      }
      // Sleep until a job newer than the last one seen is published, whether or not it is still open
      // when this thread gets to run: it then polls again, in time for the next call.
      const uint64_t seen = gen_of(v);
      std::unique_lock<std::mutex> lock(sleep_mu);
      sleepers.fetch_add(1, std::memory_order_seq_cst);
      wake.wait(lock, [&] { return gen_of(state.load(std::memory_order_seq_cst)) != seen; });
      sleepers.fetch_sub(1, std::memory_order_relaxed);
      idle_since = std::chrono::steady_clock::now();
    }
  }

  // Grows to `want` - 1 workers; returns how many exist (fewer where threads cannot be created).
  int grow(int want) {
    while (workers < want - 1) {
      try {
        std::thread t([this, s = workers + 1] { worker(s); });
        t.detach();  // the pool lives as long as the process; workers sleep when idle
      } catch (...) {
        break;
      }
      ++workers;
    }
    return workers;
  }

  // Publishes a job of `chunks` chunks for `threads` threads (the caller included) and wakes sleepers.
  void publish(int chunks, bool team, int threads, ChunkFn f, void* c) {
    fn = f;
    ctx = c;
    error = nullptr;
    failed.store(false, std::memory_order_relaxed);
    done.store(0, std::memory_order_relaxed);
    const uint64_t gen = (gen_of(state.load(std::memory_order_relaxed)) + 1) & 0xffffff;
    state.store((gen << 40) | (uint64_t{team} << 39) | (static_cast<uint64_t>(threads) << 28) |
                    static_cast<uint64_t>(chunks),
                std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard<std::mutex> lock(sleep_mu); }
      wake.notify_all();
    }
  }

  void barrier(int members) {
    const int gen = bar_gen.load(std::memory_order_acquire);
    if (bar_count.fetch_add(1, std::memory_order_acq_rel) == members - 1) {
      bar_count.store(0, std::memory_order_relaxed);  // before bar_gen moves, so nobody re-enters early
      bar_gen.store(gen + 1, std::memory_order_release);
      return;
    }
    for (int spins = 0; bar_gen.load(std::memory_order_acquire) == gen; ++spins) {
      cpu_relax();
      if (spins > 2000) std::this_thread::yield();
    }
  }

  void wait_done(int chunks) {
    for (int spins = 0; done.load(std::memory_order_acquire) < chunks; ++spins) {
      cpu_relax();
      if (spins > 4096) std::this_thread::yield();  // a claimed chunk's thread may share our core
    }
  }

  void finish() {
    // (every chunk was claimed, so the job is closed: no worker can claim into it after we return)
    fn = nullptr;
    ctx = nullptr;
    if (error) {
      std::exception_ptr e = error;
      error = nullptr;
      std::rethrow_exception(e);
    }
  }
};

std::atomic<Pool*> g_pool{nullptr};
std::once_flag g_atfork;

Pool& pool() {
  std::call_once(g_atfork, [] {
    // a forked child has none of the parent's workers: it starts a new pool (the old one is leaked,
    // its mutexes may be held by threads that do not exist there)
    pthread_atfork(nullptr, nullptr, [] { g_pool.store(nullptr); });
  });
  Pool* p = g_pool.load(std::memory_order_acquire);
  if (!p) {
    static std::mutex create;
    std::lock_guard<std::mutex> lock(create);
    p = g_pool.load(std::memory_order_acquire);
    if (!p) {
      p = new Pool;
      g_pool.store(p, std::memory_order_release);
    }
  }
  return *p;
}

int default_threads() {
  // libgomp's reading of the variable: the first entry of a list ("4,2" means 4 here), else the CPUs
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    while (end != env && (*end == ' ' || *end == '\t')) ++end;
    if (end != env && n >= 1 && (*end == '\0' || *end == ',')) return static_cast<int>(std::min<long>(n, kMaxThreads));
  }
  return available_cpus();
}

std::atomic<int> g_threads{0};  // 0: not read from the environment yet

int wanted_threads() { return std::clamp(max_threads(), 1, kMaxThreads); }

// (slot 0 meanwhile: a loop nested in a worker's chunk sizes its per-thread buffers for one thread)
void serial(int chunks, ChunkFn fn, void* ctx) {
  const bool was = t_inside;
  const int slot_was = t_slot;
  t_inside = true;
  t_slot = 0;
  try {
    for (int k = 0; k < chunks; ++k) fn(ctx, k, chunks);
  } catch (...) {
    t_inside = was;
    t_slot = slot_was;
    throw;
  }
  t_inside = was;
  t_slot = slot_was;
}

// Runs the job on the caller (chunk claims as any worker), with t_inside set meanwhile.
void drive(Pool& p, int chunks, bool team) {
  t_inside = true;
  uint64_t team_gen = ~uint64_t{0};
  if (team)
    p.claim(p.state.load(std::memory_order_acquire), 0, team_gen);
  else
    while (p.claim(p.state.load(std::memory_order_acquire), 0, team_gen) == 1) {
    }
  p.wait_done(chunks);
  t_inside = false;
}

}  // namespace

int available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

int max_threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    int unset = 0;
    g_threads.compare_exchange_strong(unset, default_threads(), std::memory_order_relaxed);
    n = g_threads.load(std::memory_order_relaxed);
  }
  return n;
}

void set_max_threads(int n) { g_threads.store(std::max(1, n), std::memory_order_relaxed); }

bool inside() { return t_inside; }

int slot() { return t_slot; }

void run(int chunks, ChunkFn fn, void* ctx, int threads) {
  if (chunks <= 0) return;
  const int want = std::min(threads > 0 ? std::min(threads, kMaxThreads) : wanted_threads(), chunks);
  if (chunks == 1 || want == 1 || inside()) return serial(chunks, fn, ctx);
  if (chunks > kMaxChunks) {  // more than the job word counts: claim runs of consecutive chunks
    struct Runs {
      ChunkFn fn;
      void* ctx;
      int chunks;
    } runs{fn, ctx, chunks};
    return run(kMaxChunks, [](void* c, int r, int n) {
      const Runs& g = *static_cast<const Runs*>(c);
      const int lo = static_cast<int>(int64_t{g.chunks} * r / n), hi = static_cast<int>(int64_t{g.chunks} * (r + 1) / n);
      for (int k = lo; k < hi; ++k) g.fn(g.ctx, k, g.chunks);
    }, &runs, want);
  }
  Pool& p = pool();
  std::unique_lock<std::mutex> lock(p.submit, std::try_to_lock);
  if (!lock.owns_lock()) return serial(chunks, fn, ctx);
  const int used = 1 + std::min(p.grow(want), want - 1);
  if (used == 1) return serial(chunks, fn, ctx);
  p.publish(chunks, false, used, fn, ctx);
  drive(p, chunks, false);
  p.finish();
}

void team(int size, ChunkFn fn, void* ctx) {
  if (size <= 0) return;
  int want = std::min(size, kMaxThreads);
  if (want == 1 || inside()) return serial(1, fn, ctx);
  Pool& p = pool();
  std::unique_lock<std::mutex> lock(p.submit, std::try_to_lock);
  if (!lock.owns_lock()) return serial(1, fn, ctx);
  want = 1 + std::min(p.grow(want), want - 1);
  if (want == 1) return serial(1, fn, ctx);
  p.publish(want, true, want, fn, ctx);
  drive(p, want, true);
  p.finish();
}

void team_barrier() {
  if (t_team > 1) pool().barrier(t_team);
}

}  // namespace forgenet::pool
