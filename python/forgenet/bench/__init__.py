"""forgenet's benchmark tool and timing core: `python -m forgenet.bench --help`.

Every output (table, --json, --csv) records the machine: `machine` holds cpu, logical_cpus,
threads, isa (the kernels' ISA path, forgenet._C.isa()), forgenet_isa_env (FORGENET_ISA), gemm_kernel,
clock_mhz and clock_source ('measured', or where a nominal clock came from), clock_nominal_mhz and
clock_nominal_source, flop_per_cycle and flop_per_cycle_source ('measured <FLOP/cycle timed>' or 'ISA
bound'), peak_gflops, platform, python, forgenet, numpy_threads,
peers (name -> version) and, with CuPy and a GPU, gpu, compute_capability, sms, gpu_clock_mhz,
gpu_peak_gflops. Each row of `rows` has report.ROW_FIELDS: bench, case, impl, device, reps,
calls_per_rep, median_s, q1_s, q3_s, min_s, max_s, spread (IQR / median), rate, unit (GFLOP/s or
img/s), pct_peak, vs_forgenet (median over forgenet's), and from --compare previous_median_s, change
and slower. The JSON's top level: schema, tool, argv, machine, rows.
"""
from forgenet.bench.timing import Timing, alternate, measure

__all__ = ["Timing", "alternate", "measure"]
