/* parallel.h — the worker pool: every thread gill runs besides the caller's.
 *
 * One threading mechanism for the process (DESIGN.md): this pool of gill_gemm_threads () threads
 * (the caller plus n - 1 GLib workers, which sleep between jobs) runs gill's own kernels (fused
 * attention, matrix–vector products, widening) and the GEMMs too — OpenBLAS runs single-threaded
 * inside each band of a product (core/ops/gemm.c). A call made from inside a task runs its tasks
 * inline, so nothing ever waits on a busy worker and the cores are never oversubscribed.
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
