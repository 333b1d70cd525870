// The CPU kernels' thread pool: what runs parallel_for's chunks and the recurrent kernels' teams.
//
// Why not OpenMP's teams: at the end of an OpenMP parallel region the caller waits for every thread
// of the team to arrive, including one that has not even been scheduled yet. On a busy machine (a
// core held by another process) that wait is a scheduler time slice: measured on 2 cores under load,
// 2-thread regions of ~50 us of work took 0.7-7 ms each, 4-35x the one-thread time. Here the chunks
// are claimed: whichever thread gets to a chunk first runs it, the caller claims chunks too, and it
// waits only for chunks some thread has claimed. A worker that wakes late finds nothing left and goes
// back to sleep, so a call never costs much more than running all its chunks on the caller.
//
// Workers poll for a few ms after their last chunk (back-to-back kernels of a training step then find
// them awake) and then sleep on a condition variable. The pool is created on first use, grows when
// max_threads() grows, and is rebuilt empty in a forked child (which keeps the parent's thread count).
#pragma once

#include <cstdint>

namespace forgenet::pool {

using ChunkFn = void (*)(void* ctx, int chunk, int chunks);

// The thread count the kernels use, one for the whole process (forgenet.set_num_threads sets it for
// every Python thread, as torch.set_num_threads does). Default: OMP_NUM_THREADS when it starts with a
// positive count (the variable users already set to cap every library's threads), else the CPUs this
// process may run on.
int max_threads();
void set_max_threads(int n);

// The CPUs this process may run on (its affinity mask), at least 1.
int available_cpus();

// ctx's fn(chunk, chunks) for every chunk < chunks, each once, on the caller and up to threads - 1
// workers (threads <= 0: max_threads()); returns when all have run. An exception thrown by a
// chunk is rethrown here after the others (chunks not started by then are skipped). A call from inside
// a chunk, or while another thread is using the pool, runs its chunks on the caller.
void run(int chunks, ChunkFn fn, void* ctx, int threads = 0);

// fn(k, team) on `team` threads at the same time, k < team each once: for bodies that wait for each
// other (a barrier per time step). The team may come out smaller than asked (inside a chunk, the pool
// in use, threads unavailable), so bodies must take the team size they are given.
// A body must not throw past a barrier the others wait at (catch inside, or throw only where no
// barrier follows).
void team(int team, ChunkFn fn, void* ctx);

// Waits until every member of the calling thread's team() has called it (a no-op in a team of one).
// It spins briefly and then yields: libgomp's barrier sleeps in the kernel after its spin, and on a
// machine busier than the team every wake-up then waits for a scheduler tick (~4 ms) once per step.
void team_barrier();

// True on a thread while it runs a chunk of run() or a member of team() (nested loops run serially).
bool inside();

// Which thread runs the calling chunk: 0 for the caller (and in a loop run serially), 1.. for the
// workers; always below the thread count the run() was given, for per-thread buffers of that many.
int slot();

}  // namespace forgenet::pool
