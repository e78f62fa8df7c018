/* bench-load.c — `gill bench load [PATH]`: opening a model must cost O(headers), not O(bytes).
 *
 * Times opening PATH (a weight file or model folder) and resolving every tensor by name, with the
 * resident memory after it. Without PATH it first writes a sharded checkpoint of random contents
 * (OPT-6.7B's tensor names and shapes in f16, --size-gb in all) as the official files come —
 * two torch.save zip shards with `decoder.*` keys and pytorch_model.bin.index.json (--format bin)
 * or two safetensors shards and model.safetensors.index.json (--format safetensors) — to a
 * temporary folder, measures that, and removes it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "core/base/error.h"
#include "core/cli/bench.h"
#include "core/cli/bench-writer.h"
#include "core/cli/cli.h"
#include "core/io/store.h"

static void
spec_add (GPtrArray *specs,
          gchar     *name,   /* taken */
          gint64     rows,
          gint64     cols,
          guint64   *total)
{
  GillBenchTensor *s = g_new0 (GillBenchTensor, 1);
  s->name = name;
  s->rows = rows;
  s->cols = cols;
  *total += gill_bench_tensor_bytes (s);
  g_ptr_array_add (specs, s);
}

static void
spec_free (GillBenchTensor *s)
{
  g_free (s->name);
  g_free (s);
}

/* OPT-6.7B's decoder tensors (models.md §1.5), layer after layer until `budget` bytes of f16 */
static GPtrArray *
opt_specs (guint64 budget)
{
  static const gchar *const attn[] = { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                       "self_attn.out_proj" };
  static const gchar *const norms[] = { "self_attn_layer_norm", "final_layer_norm" };
  GPtrArray *specs = g_ptr_array_new_with_free_func ((GDestroyNotify) spec_free);
  const gint64 d = 4096, ffn = 16384, vocab = 50272;
  guint64 total = 0;
  spec_add (specs, g_strdup ("decoder.embed_tokens.weight"), vocab, d, &total);
  spec_add (specs, g_strdup ("decoder.embed_positions.weight"), 2050, d, &total);
  for (gint l = 0; total < budget; l++)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (attn); i++)
        {
          spec_add (specs, g_strdup_printf ("decoder.layers.%d.%s.weight", l, attn[i]), d, d, &total);
          spec_add (specs, g_strdup_printf ("decoder.layers.%d.%s.bias", l, attn[i]), d, 0, &total);
        }
      spec_add (specs, g_strdup_printf ("decoder.layers.%d.fc1.weight", l), ffn, d, &total);
      spec_add (specs, g_strdup_printf ("decoder.layers.%d.fc1.bias", l), ffn, 0, &total);
      spec_add (specs, g_strdup_printf ("decoder.layers.%d.fc2.weight", l), d, ffn, &total);
      spec_add (specs, g_strdup_printf ("decoder.layers.%d.fc2.bias", l), d, 0, &total);
      for (gsize i = 0; i < G_N_ELEMENTS (norms); i++)
        {
          spec_add (specs, g_strdup_printf ("decoder.layers.%d.%s.weight", l, norms[i]), d, 0, &total);
          spec_add (specs, g_strdup_printf ("decoder.layers.%d.%s.bias", l, norms[i]), d, 0, &total);
        }
    }
  return specs;
}

/* two shards (the first about 60 %) and their index, named as Hugging Face names them */
static gboolean
write_sharded_checkpoint (const gchar *folder,
                          guint64      budget,
                          gboolean     torch_zip,
                          GError     **error)
{
  g_autoptr (GPtrArray) specs = opt_specs (budget);
  guint64 total = 0, acc = 0;
  for (guint i = 0; i < specs->len; i++)
    total += gill_bench_tensor_bytes (g_ptr_array_index (specs, i));
  guint split = 0;
  while (split < specs->len && acc < total * 6 / 10)
    acc += gill_bench_tensor_bytes (g_ptr_array_index (specs, split++));

  static const gchar *const st_names[2] = { "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors" };
  static const gchar *const bin_names[2] = { "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin" };
  const gchar *const *names = torch_zip ? bin_names : st_names;
  guint bounds[3] = { 0, split, specs->len };
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "metadata");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "total_size");
  json_builder_add_int_value (b, (gint64) total);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "weight_map");
  json_builder_begin_object (b);
  for (gint s = 0; s < 2; s++)
    {
      g_autofree gchar *path = g_build_filename (folder, names[s], NULL);
      gill_bench_progress ("writing %s (%u tensors)", path, bounds[s + 1] - bounds[s]);
      GillBenchTensor *const *shard = (GillBenchTensor *const *) specs->pdata + bounds[s];
      guint n = bounds[s + 1] - bounds[s];
      if (!(torch_zip ? gill_bench_write_torch_zip (path, shard, n, error)
                      : gill_bench_write_safetensors (path, shard, n, error)))
        return FALSE;
      for (guint i = bounds[s]; i < bounds[s + 1]; i++)
        {
          json_builder_set_member_name (b, ((GillBenchTensor *) g_ptr_array_index (specs, i))->name);
          json_builder_add_string_value (b, names[s]);
        }
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree gchar *text = json_to_string (root, TRUE);
  g_autofree gchar *index = g_build_filename (folder, torch_zip ? "pytorch_model.bin.index.json"
                                                                : "model.safetensors.index.json", NULL);
  return g_file_set_contents (index, text, -1, error);
}

static void
remove_folder (const gchar *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  const gchar *e;
  while (dir && (e = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *p = g_build_filename (folder, e, NULL);
      g_unlink (p);
    }
  g_rmdir (folder);
}

/* open + resolve every tensor; returns seconds, the tensor count and bytes */
static gboolean
time_open (const gchar *path,
           double      *seconds,
           guint       *n_tensors,
           guint64     *bytes,
           GError     **error)
{
  double t0 = gill_bench_now ();
  g_autoptr (GillStore) store = gill_store_new ();
  if (!gill_store_add_path (store, path, error))
    return FALSE;
  g_autoptr (GPtrArray) names = gill_store_names_sorted (store);
  for (guint i = 0; i < names->len; i++)
    if (gill_store_get (store, g_ptr_array_index (names, i), -1, NULL, error) == NULL)
      return FALSE;
  *seconds = gill_bench_now () - t0;
  *n_tensors = names->len;
  *bytes = gill_store_total_bytes (store);
  return TRUE;
}

int
gill_bench_load (int argc, char **argv)
{
  gboolean json = FALSE;
  gint repetitions = 5;
  gdouble size_gb = 4.0;
  g_autofree gchar *tmpdir = NULL;
  g_autofree gchar *format = NULL;
  gboolean keep = FALSE;
  const GOptionEntry entries[] = {
    { "keep", 0, 0, G_OPTION_ARG_NONE, &keep, "without PATH: keep the generated checkpoint (its folder is printed)", NULL },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "without PATH: bin (torch.save zip shards, default) or safetensors", "FORMAT" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON object on the last line of stdout", NULL },
    { "repetitions", 'r', 0, G_OPTION_ARG_INT, &repetitions, "timed runs after one warm-up (default 5)", "N" },
    { "size-gb", 0, 0, G_OPTION_ARG_DOUBLE, &size_gb, "without PATH: size of the generated checkpoint (default 4)", "GB" },
    { "tmpdir", 0, 0, G_OPTION_ARG_FILENAME, &tmpdir, "without PATH: where to write it (default $TMPDIR)", "DIR" },
    { NULL }
  };
  if (!gill_cli_parse ("bench load", "[PATH]",
                       "Time opening a weight file or model folder and resolving every tensor\n"
                       "(headers only; no tensor data is read), and the resident memory after it.",
                       entries, NULL, &argc, &argv))
    return GILL_EXIT_USAGE;
  gboolean torch_zip = format == NULL || g_str_equal (format, "bin");
  if (repetitions < 1 || size_gb <= 0 || size_gb > 64 || !(torch_zip || g_str_equal (format, "safetensors")))
    {
      fprintf (stderr, "gill bench load: --repetitions must be >= 1, --size-gb in (0, 64], --format bin or safetensors\n");
      return GILL_EXIT_USAGE;
    }

  g_autoptr (GError) error = NULL;
  g_autofree gchar *generated = NULL;
  const gchar *path = argc >= 2 ? argv[1] : NULL;
  if (path == NULL)
    {
      g_autofree gchar *tmpl = g_build_filename (tmpdir ? tmpdir : g_get_tmp_dir (), "gill-bench-load-XXXXXX", NULL);
      generated = g_mkdtemp (g_steal_pointer (&tmpl));
      if (generated == NULL || !write_sharded_checkpoint (generated, (guint64) (size_gb * 1e9), torch_zip, &error))
        {
          if (generated)
            remove_folder (generated);
          gill_cli_print_error (error);
          return GILL_EXIT_FAILURE;
        }
      path = generated;
    }

  gint64 rss_before = gill_bench_current_rss ();
  g_autofree double *times = g_new (double, repetitions);
  guint n_tensors = 0;
  guint64 bytes = 0;
  gint64 rss_open = 0;
  gboolean ok = TRUE;
  for (gint r = -1; r < repetitions && ok; r++)
    {
      double s = 0;
      ok = time_open (path, &s, &n_tensors, &bytes, &error);
      if (!ok)
        break;
      if (r >= 0)
        times[r] = s;
      rss_open = MAX (rss_open, gill_bench_current_rss ());
      gill_bench_progress ("%s %.4f s", r < 0 ? "warm-up" : "run", s);
    }
  if (generated && keep)
    gill_bench_progress ("kept the generated checkpoint in %s", generated);
  else if (generated)
    remove_folder (generated);
  if (!ok)
    {
      gill_cli_print_error (error);
      return GILL_EXIT_FAILURE;
    }
  double min = gill_bench_min (times, repetitions);
  double median = gill_bench_median (times, repetitions);
  g_autofree gchar *machine = gill_bench_machine ();
  g_autofree gchar *human = g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
  if (json)
    {
      JsonBuilder *b = gill_bench_json_begin ("load");
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, generated ? (torch_zip ? "(generated torch zip shards)" : "(generated safetensors shards)") : path);
      json_builder_set_member_name (b, "tensors");
      json_builder_add_int_value (b, n_tensors);
      json_builder_set_member_name (b, "bytes");
      json_builder_add_int_value (b, (gint64) bytes);
      json_builder_set_member_name (b, "open_seconds_median");
      json_builder_add_double_value (b, median);
      json_builder_set_member_name (b, "open_seconds_min");
      json_builder_add_double_value (b, min);
      json_builder_set_member_name (b, "rss_after_open_bytes");
      json_builder_add_int_value (b, rss_open);
      json_builder_set_member_name (b, "rss_before_bytes");
      json_builder_add_int_value (b, rss_before);
      gill_bench_json_end (b);
    }
  else
    {
      printf ("| model | tensors | bytes | open+resolve median | min | RSS after open |\n");
      printf ("|---|---|---|---|---|---|\n");
      g_autofree gchar *what = generated ? g_strdup_printf ("generated OPT-6.7B-shaped f16 %s shards",
                                                            torch_zip ? "torch.save zip" : "safetensors")
                                         : g_strdup (path);
      printf ("| %s | %u | %s | %.2f ms | %.2f ms | %.1f MiB |\n", what,
              n_tensors, human, median * 1e3, min * 1e3, rss_open / 1048576.0);
      printf ("\n%s; %d runs after one warm-up\n", machine, repetitions);
    }
  return GILL_EXIT_OK;
}
