/* parallel.h — the worker pool for gill's own kernels (fused matrix–vector products, widening).
 *
 * One threading story for the process (DESIGN.md): OpenBLAS (pthreads build) runs the GEMMs with
 * its own pool of gill_gemm_threads () threads; everything else that gill parallelises runs on
 * this pool, which has the same number of threads (the caller plus n - 1 GLib workers). The two
 * never run at once — a kernel on this pool does not call the BLAS and a GEMM is never issued from
 * inside a task — so the cores are never oversubscribed.
 *
 *   gill_parallel_run (n, func, data)  calls func (i, n, data) for i = 0 .. n-1, task 0 on the
 *                                      calling thread, and returns when all have finished. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*GillParallelFunc) (gint     task,
                                  gint     n_tasks,
                                  gpointer data);

/* threads the pool runs on, the calling one included (= the BLAS threads) */
gint gill_parallel_threads (void);
/* run n_tasks tasks on the pool and wait for all of them */
void gill_parallel_run     (gint             n_tasks,
                            GillParallelFunc func,
                            gpointer         data);

G_END_DECLS
