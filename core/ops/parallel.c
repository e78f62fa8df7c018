/* parallel.c — gill's worker pool: a GThreadPool of gill_gemm_threads () - 1 exclusive workers,
 * created on first use and kept for the life of the process; the GEMMs run on it too. */
#include "core/ops/parallel.h"

#include "core/ops/gemm.h"

#define PARALLEL_MAX_TASKS 64

typedef struct
{
  GillParallelFunc func;
  gpointer data;
  gint n_tasks;
  gint remaining; /* tasks not finished, under lock */
  GMutex lock;
  GCond done;
} Job;

typedef struct
{
  Job *job;
  gint index;
} Task;

typedef struct
{
  GThreadPool *workers; /* NULL when the process runs single-threaded */
  gint threads;
} Pool;

/* set while a thread runs a task, so nested calls run inline instead of waiting on busy workers */
static GPrivate in_task;

static void
parallel_finish (Job *job)
{
  g_mutex_lock (&job->lock);
  if (--job->remaining == 0)
    g_cond_signal (&job->done);
  g_mutex_unlock (&job->lock);
}

static void
parallel_worker (gpointer item,
                 gpointer pool_data)
{
  Task *task = item;
  (void) pool_data;
  g_private_set (&in_task, GINT_TO_POINTER (1));
  task->job->func (task->index, task->job->n_tasks, task->job->data);
  g_private_set (&in_task, NULL);
  parallel_finish (task->job);
}

static gpointer
parallel_pool_new (gpointer unused)
{
  (void) unused;
  Pool *pool = g_new0 (Pool, 1);
  pool->threads = CLAMP (gill_gemm_threads (), 1, PARALLEL_MAX_TASKS);
  if (pool->threads > 1)
    pool->workers = g_thread_pool_new (parallel_worker, NULL, pool->threads - 1, TRUE, NULL);
  if (pool->workers == NULL)
    pool->threads = 1;
  return pool;
}

static Pool *
parallel_pool (void)
{
  static GOnce once = G_ONCE_INIT;
  return g_once (&once, parallel_pool_new, NULL);
}

gint
gill_parallel_threads (void)
{
  return parallel_pool ()->threads;
}

void
gill_parallel_run (gint             n_tasks,
                   GillParallelFunc func,
                   gpointer         data)
{
  g_return_if_fail (func != NULL && n_tasks <= PARALLEL_MAX_TASKS);
  Pool *pool = parallel_pool ();
  if (n_tasks <= 1 || pool->workers == NULL || g_private_get (&in_task))
    {
      for (gint i = 0; i < n_tasks; i++)
        func (i, n_tasks, data);
      return;
    }

  Job job = { .func = func, .data = data, .n_tasks = n_tasks, .remaining = n_tasks - 1 };
  Task tasks[PARALLEL_MAX_TASKS];
  g_mutex_init (&job.lock);
  g_cond_init (&job.done);
  for (gint i = 1; i < n_tasks; i++)
    {
      tasks[i] = (Task) { &job, i };
      g_thread_pool_push (pool->workers, &tasks[i], NULL);
    }
  /* task 0 on this thread while the workers take the others */
  g_private_set (&in_task, GINT_TO_POINTER (1));
  func (0, n_tasks, data);
  g_private_set (&in_task, NULL);
  g_mutex_lock (&job.lock);
  while (job.remaining > 0)
    g_cond_wait (&job.done, &job.lock);
  g_mutex_unlock (&job.lock);
  g_mutex_clear (&job.lock);
  g_cond_clear (&job.done);
}
