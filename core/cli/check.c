/* check.c — `gill check`: run golden fixture cases and compare with their tolerances.
 *
 * Schema: ../shared/fixtures/README.md. A folder holds cases.json (a list of cases), usually
 * manifest.json and golden.safetensors. A value in `inputs`/`expected` that is a JSON string names a
 * golden tensor; {"str": s} is a literal string; anything else is a literal. Every expected key
 * not listed in `informational` must be produced and match:
 *   |actual - expected| <= atol + rtol * |expected|  elementwise (numpy.allclose),
 * with per-key `tolerances` overriding the case's atol/rtol; integers and strings exactly.
 * A kind the README documents but no room implements yet is a SKIP; an unknown kind is a FAIL. */
#include "core/cli/check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/base/error.h"
#include "core/cli/cli.h"
#include "core/io/safetensors.h"
#include "core/io/store.h"

/* every kind the fixtures README documents, implemented or not */
static const gchar *const documented_kinds[] = {
  "tokenizer.opt", "tokenizer.clip",
  "opt.forward", "opt.greedy", "opt.kv_cache",
  "clip.preprocess", "clip.vision", "clip.text", "clip.similarity",
  "unet.forward", "vae.decode", "scheduler.step", "sd.pipeline",
  "rng.torch_cpu_randn", "rng.torch_generator_randn", "rng.torch_cpu_randn_seq",
  "io.tensor", "io.value",
  "gill.load", "gill.visual", "gill.mapper", "gill.retrieval", "gill.decision", "gill.generate",
};

/* the rooms' registries */
static const GillCheckKind *const registries[] = {
  gill_check_kinds_io,
  gill_check_kinds_text,
  gill_check_kinds_rng, gill_check_kinds_sched,
  gill_check_kinds_opt,
  gill_check_kinds_clip,
  gill_check_kinds_sd,
  gill_check_kinds_gill,
};

/* ------------------------------------------------------------------ results */

typedef struct
{
  GillTensor *tensor; /* or */
  JsonNode *json;
} Result;

struct _GillCheckResults
{
  GHashTable *values; /* key -> Result* */
};

static void
result_free (Result *r)
{
  g_clear_pointer (&r->tensor, gill_tensor_unref);
  g_clear_pointer (&r->json, json_node_unref);
  g_free (r);
}

static GillCheckResults *
results_new (void)
{
  GillCheckResults *out = g_new0 (GillCheckResults, 1);
  out->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) result_free);
  return out;
}

static void
results_free (GillCheckResults *out)
{
  g_hash_table_unref (out->values);
  g_free (out);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GillCheckResults, results_free)

void
gill_check_results_set_tensor (GillCheckResults *out,
                               const gchar      *key,
                               GillTensor       *tensor)
{
  Result *r = g_new0 (Result, 1);
  r->tensor = gill_tensor_ref (tensor);
  g_hash_table_replace (out->values, g_strdup (key), r);
}

void
gill_check_results_set_json (GillCheckResults *out,
                             const gchar      *key,
                             JsonNode         *value)
{
  Result *r = g_new0 (Result, 1);
  r->json = json_node_copy (value);
  g_hash_table_replace (out->values, g_strdup (key), r);
}

void
gill_check_results_set_string (GillCheckResults *out,
                               const gchar      *key,
                               const gchar      *value)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_VALUE);
  json_node_set_string (node, value);
  gill_check_results_set_json (out, key, node);
}

void
gill_check_results_set_double (GillCheckResults *out,
                               const gchar      *key,
                               double            value)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_VALUE);
  json_node_set_double (node, value);
  gill_check_results_set_json (out, key, node);
}

void
gill_check_results_set_ints (GillCheckResults *out,
                             const gchar      *key,
                             const gint64     *values,
                             gsize             n)
{
  gint64 shape[1] = { (gint64) n };
  g_autoptr (GillTensor) t = gill_tensor_new_i64 (1, shape);
  if (n)
    memcpy (gill_tensor_data_i64 (t), values, n * sizeof (gint64));
  gill_check_results_set_tensor (out, key, t);
}

void
gill_check_results_set_strings (GillCheckResults   *out,
                                const gchar        *key,
                                const gchar *const *values,
                                gsize               n)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_ARRAY);
  JsonArray *array = json_array_new ();
  for (gsize i = 0; i < n; i++)
    json_array_add_string_element (array, values[i]);
  json_node_take_array (node, array);
  gill_check_results_set_json (out, key, node);
}

/* ------------------------------------------------------------------ inputs */

JsonNode *
gill_check_input (const GillCheckCase *c,
                  const gchar         *key)
{
  JsonNode *inputs = json_object_get_member (c->object, "inputs");
  if (inputs == NULL || !JSON_NODE_HOLDS_OBJECT (inputs))
    return NULL;
  return json_object_get_member (json_node_get_object (inputs), key);
}

static gboolean
input_missing (const GillCheckCase *c,
               const gchar         *key,
               const gchar         *what,
               GError             **error)
{
  g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s/cases.json: case '%s': inputs.%s is not %s",
               c->folder, c->name, key, what);
  return FALSE;
}

GillTensor *
gill_check_input_tensor (const GillCheckCase *c,
                         const gchar         *key,
                         GError             **error)
{
  JsonNode *node = gill_check_input (c, key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      input_missing (c, key, "the name of a golden tensor", error);
      return NULL;
    }
  GillTensor *t = c->golden ? gill_tensor_list_find (c->golden, json_node_get_string (node)) : NULL;
  if (t == NULL)
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_MODEL_MISSING, "%s/golden.safetensors: no tensor '%s' (case '%s', inputs.%s)",
                   c->folder, json_node_get_string (node), c->name, key);
      return NULL;
    }
  return gill_tensor_ref (t);
}

gchar *
gill_check_input_string (const GillCheckCase *c,
                         const gchar         *key,
                         GError             **error)
{
  JsonNode *node = gill_check_input (c, key);
  if (node && JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonNode *s = json_object_get_member (json_node_get_object (node), "str");
      if (s && JSON_NODE_HOLDS_VALUE (s) && json_node_get_value_type (s) == G_TYPE_STRING)
        return g_strdup (json_node_get_string (s));
    }
  input_missing (c, key, "a literal string {\"str\": ...}", error);
  return NULL;
}

gboolean
gill_check_input_int (const GillCheckCase *c,
                      const gchar         *key,
                      gint64              *out,
                      GError             **error)
{
  JsonNode *node = gill_check_input (c, key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return input_missing (c, key, "an integer", error);
  *out = json_node_get_int (node);
  return TRUE;
}

gboolean
gill_check_input_double (const GillCheckCase *c,
                         const gchar         *key,
                         double              *out,
                         GError             **error)
{
  JsonNode *node = gill_check_input (c, key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || (json_node_get_value_type (node) != G_TYPE_INT64 && json_node_get_value_type (node) != G_TYPE_DOUBLE))
    return input_missing (c, key, "a number", error);
  *out = json_node_get_value_type (node) == G_TYPE_INT64 ? (double) json_node_get_int (node) : json_node_get_double (node);
  return TRUE;
}

gchar *
gill_check_path (const GillCheckCase *c,
                 const gchar         *relative)
{
  return g_build_filename (c->folder, relative, NULL);
}

static const gchar *
object_string (JsonObject  *o,
               const gchar *member)
{
  JsonNode *n = o ? json_object_get_member (o, member) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

const gchar *
gill_check_case_string (const GillCheckCase *c,
                        const gchar         *member)
{
  return object_string (c->object, member);
}

const gchar *
gill_check_manifest_string (const GillCheckCase *c,
                            const gchar         *member)
{
  return object_string (c->manifest, member);
}

/* ------------------------------------------------------------------ per-folder cache */

typedef struct
{
  gpointer data;
  GDestroyNotify destroy;
} Cached;

static void
cached_free (Cached *cached)
{
  if (cached->destroy)
    cached->destroy (cached->data);
  g_free (cached);
}

gpointer
gill_check_cache_lookup (const GillCheckCase *c,
                         const gchar         *key)
{
  Cached *cached = c->cache ? g_hash_table_lookup (c->cache, key) : NULL;
  return cached ? cached->data : NULL;
}

void
gill_check_cache_insert (const GillCheckCase *c,
                         const gchar         *key,
                         gpointer             data,
                         GDestroyNotify       destroy)
{
  g_return_if_fail (c->cache != NULL);
  Cached *cached = g_new (Cached, 1);
  cached->data = data;
  cached->destroy = destroy;
  g_hash_table_replace (c->cache, g_strdup (key), cached);
}

/* ------------------------------------------------------------------ comparison */

/* one scalar of a flattened value: a number (integer or not) or a string */
typedef struct
{
  gboolean is_string;
  gboolean is_int;
  gint64 i;
  double f;
  const gchar *s;
} Scalar;

typedef struct
{
  double worst_abs;   /* largest |actual - expected| */
  double worst_ratio; /* largest |actual - expected| / (atol + rtol |expected|) */
  gint64 count;
} Stats;

static gboolean
flatten_json (JsonNode *node,
              GArray   *out)
{
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *a = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (a); i++)
        if (!flatten_json (json_array_get_element (a, i), out))
          return FALSE;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  Scalar s = { 0 };
  GType type = json_node_get_value_type (node);
  if (type == G_TYPE_STRING)
    {
      s.is_string = TRUE;
      s.s = json_node_get_string (node);
    }
  else if (type == G_TYPE_INT64)
    {
      s.is_int = TRUE;
      s.i = json_node_get_int (node);
      s.f = (double) s.i;
    }
  else if (type == G_TYPE_DOUBLE)
    s.f = json_node_get_double (node);
  else if (type == G_TYPE_BOOLEAN)
    {
      s.is_int = TRUE;
      s.i = json_node_get_boolean (node);
      s.f = (double) s.i;
    }
  else
    return FALSE;
  g_array_append_val (out, s);
  return TRUE;
}

/* a result or expected tensor as scalars (floats stay floats, integers exact) */
static void
flatten_tensor (const GillTensor *t,
                GArray           *out,
                gpointer         *keep)
{
  gint64 n = gill_tensor_numel (t);
  if (gill_dtype_is_float (t->dtype))
    {
      float *v = g_new (float, MAX (n, 1));
      gill_tensor_copy_f32 (t, v);
      for (gint64 i = 0; i < n; i++)
        {
          Scalar s = { .f = v[i] };
          g_array_append_val (out, s);
        }
      g_free (v);
    }
  else
    {
      gint64 *v = g_new (gint64, MAX (n, 1));
      gill_tensor_copy_i64 (t, v);
      for (gint64 i = 0; i < n; i++)
        {
          Scalar s = { .is_int = TRUE, .i = v[i], .f = (double) v[i] };
          g_array_append_val (out, s);
        }
      g_free (v);
    }
  (void) keep;
}

/* compare two flattened values; FALSE with *why set on a mismatch */
static gboolean
compare_scalars (GArray  *actual,
                 GArray  *expected,
                 double   atol,
                 double   rtol,
                 Stats   *stats,
                 gchar  **why)
{
  if (actual->len != expected->len)
    {
      *why = g_strdup_printf ("%u values produced, %u expected", actual->len, expected->len);
      return FALSE;
    }
  for (guint i = 0; i < expected->len; i++)
    {
      Scalar *a = &g_array_index (actual, Scalar, i);
      Scalar *e = &g_array_index (expected, Scalar, i);
      if (e->is_string || a->is_string)
        {
          if (!(e->is_string && a->is_string && g_str_equal (a->s, e->s)))
            {
              *why = g_strdup_printf ("element %u: got %s%s%s, expected \"%s\"", i,
                                      a->is_string ? "\"" : "", a->is_string ? a->s : "a number",
                                      a->is_string ? "\"" : "", e->is_string ? e->s : "(a number)");
              return FALSE;
            }
          continue;
        }
      if (e->is_int && a->is_int)
        {
          if (a->i != e->i)
            {
              *why = g_strdup_printf ("element %u: got %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT
                                      " (integers compare exactly)", i, a->i, e->i);
              return FALSE;
            }
          continue;
        }
      if (e->is_int != a->is_int && (e->is_int ? !isfinite (a->f) : FALSE))
        {
          *why = g_strdup_printf ("element %u: got %g, expected %" G_GINT64_FORMAT, i, a->f, e->i);
          return FALSE;
        }
      double diff = fabs (a->f - e->f);
      double tol = atol + rtol * fabs (e->f);
      if (isnan (a->f) || isnan (e->f))
        diff = INFINITY;
      stats->worst_abs = MAX (stats->worst_abs, diff);
      stats->worst_ratio = MAX (stats->worst_ratio, tol > 0 ? diff / tol : (diff > 0 ? INFINITY : 0));
      stats->count++;
      if (!(diff <= tol))
        {
          *why = g_strdup_printf ("element %u: got %.9g, expected %.9g (|err| %.3g > atol %g + rtol %g x |expected|)",
                                  i, a->f, e->f, diff, atol, rtol);
          return FALSE;
        }
    }
  return TRUE;
}

/* the tolerance for one expected key */
static void
key_tolerance (JsonObject  *object,
               const gchar *key,
               double      *atol,
               double      *rtol)
{
  *atol = json_object_get_double_member_with_default (object, "atol", 0.0);
  *rtol = json_object_get_double_member_with_default (object, "rtol", 0.0);
  JsonNode *tols = json_object_get_member (object, "tolerances");
  if (tols && JSON_NODE_HOLDS_OBJECT (tols))
    {
      JsonNode *k = json_object_get_member (json_node_get_object (tols), key);
      if (k && JSON_NODE_HOLDS_OBJECT (k))
        {
          JsonObject *ko = json_node_get_object (k);
          *atol = json_object_get_double_member_with_default (ko, "atol", *atol);
          *rtol = json_object_get_double_member_with_default (ko, "rtol", *rtol);
        }
    }
}

static gboolean
shapes_agree (const GillTensor *actual,
              const GillTensor *expected,
              gchar           **why)
{
  if (gill_tensor_has_shape (actual, expected->n_dims, expected->shape))
    return TRUE;
  g_autofree gchar *a = gill_tensor_shape_string (actual);
  g_autofree gchar *e = gill_tensor_shape_string (expected);
  *why = g_strdup_printf ("shape %s, expected %s", a, e);
  return FALSE;
}

static gboolean
compare_key (const GillCheckCase *c,
             const gchar         *key,
             JsonNode            *expected,
             Result              *actual,
             Stats               *stats,
             gchar              **why)
{
  double atol, rtol;
  key_tolerance (c->object, key, &atol, &rtol);
  g_autoptr (GArray) a = g_array_new (FALSE, FALSE, sizeof (Scalar));
  g_autoptr (GArray) e = g_array_new (FALSE, FALSE, sizeof (Scalar));

  if (JSON_NODE_HOLDS_VALUE (expected) && json_node_get_value_type (expected) == G_TYPE_STRING)
    {
      /* a golden tensor */
      const gchar *name = json_node_get_string (expected);
      GillTensor *golden = c->golden ? gill_tensor_list_find (c->golden, name) : NULL;
      if (golden == NULL)
        {
          *why = g_strdup_printf ("golden.safetensors has no tensor '%s'", name);
          return FALSE;
        }
      flatten_tensor (golden, e, NULL);
      if (actual->tensor)
        {
          if (!shapes_agree (actual->tensor, golden, why))
            return FALSE;
          flatten_tensor (actual->tensor, a, NULL);
        }
      else if (!flatten_json (actual->json, a))
        {
          *why = g_strdup ("produced a value that is not numbers");
          return FALSE;
        }
      if (!gill_dtype_is_float (golden->dtype))
        atol = rtol = 0;
      return compare_scalars (a, e, atol, rtol, stats, why);
    }

  if (JSON_NODE_HOLDS_OBJECT (expected))
    {
      JsonObject *o = json_node_get_object (expected);
      JsonNode *literal = json_object_get_member (o, "str");
      if (literal == NULL)
        literal = json_object_get_member (o, "json");
      if (literal == NULL)
        {
          *why = g_strdup ("expected value is an object without \"str\" or \"json\"");
          return FALSE;
        }
      if (actual->json == NULL || !json_node_equal (actual->json, literal))
        {
          g_autofree gchar *got = actual->json ? json_to_string (actual->json, FALSE) : g_strdup ("a tensor");
          g_autofree gchar *want = json_to_string (literal, FALSE);
          *why = g_strdup_printf ("got %s, expected %s (compared exactly)", got, want);
          return FALSE;
        }
      return TRUE;
    }

  /* a literal number, bool, null or list */
  if (JSON_NODE_HOLDS_NULL (expected))
    {
      if (actual->json && JSON_NODE_HOLDS_NULL (actual->json))
        return TRUE;
      *why = g_strdup ("expected null");
      return FALSE;
    }
  if (!flatten_json (expected, e))
    {
      *why = g_strdup ("expected value has a form the schema does not define");
      return FALSE;
    }
  if (actual->tensor)
    flatten_tensor (actual->tensor, a, NULL);
  else if (!flatten_json (actual->json, a))
    {
      *why = g_strdup ("produced a value of another kind than expected");
      return FALSE;
    }
  return compare_scalars (a, e, atol, rtol, stats, why);
}

/* ------------------------------------------------------------------ running cases */

typedef struct
{
  gint passed, failed, skipped;
  gboolean verbose;
} Tally;

static const GillCheckKind *
find_kind (const gchar *kind,
           gboolean    *documented)
{
  *documented = FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (documented_kinds); i++)
    if (g_str_equal (documented_kinds[i], kind))
      *documented = TRUE;
  for (gsize r = 0; r < G_N_ELEMENTS (registries); r++)
    for (const GillCheckKind *k = registries[r]; k->kind; k++)
      if (g_str_equal (k->kind, kind))
        return k;
  return NULL;
}

static gboolean
is_informational (JsonObject  *object,
                  const gchar *key)
{
  JsonNode *info = json_object_get_member (object, "informational");
  if (info == NULL || !JSON_NODE_HOLDS_ARRAY (info))
    return FALSE;
  JsonArray *a = json_node_get_array (info);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonNode *n = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
          && g_str_equal (json_node_get_string (n), key))
        return TRUE;
    }
  return FALSE;
}

static void
report (Tally       *tally,
        const gchar *verdict,
        const GillCheckCase *c,
        const gchar *detail)
{
  if (g_str_equal (verdict, "PASS"))
    tally->passed++;
  else if (g_str_equal (verdict, "FAIL"))
    tally->failed++;
  else
    tally->skipped++;
  g_autofree gchar *folder = g_path_get_basename (c->folder);
  printf ("%s %s %s/%s%s%s%s%s\n", verdict, c->kind, folder, c->name, c->layout ? " [" : "",
          c->layout ? c->layout : "", c->layout ? "]" : "", detail ? detail : "");
  fflush (stdout);
}

/* run one case in one layout, compare, and report */
static void
run_case (GillCheckCase       *c,
          const GillCheckKind *kind,
          Tally               *tally)
{
  g_autoptr (GillCheckResults) results = results_new ();
  g_autoptr (GError) error = NULL;
  double t0 = g_get_monotonic_time () / 1e6;
  if (!kind->run (c, results, &error))
    {
      g_autofree gchar *d = g_strdup_printf (": %s", error->message);
      report (tally, "FAIL", c, d);
      return;
    }
  JsonNode *expected = json_object_get_member (c->object, "expected");
  if (expected == NULL || !JSON_NODE_HOLDS_OBJECT (expected))
    {
      report (tally, "FAIL", c, ": the case has no \"expected\" object");
      return;
    }
  JsonObject *eo = json_node_get_object (expected);
  g_autoptr (GList) keys = json_object_get_members (eo);
  Stats stats = { 0 };
  gint checked = 0;
  for (GList *l = keys; l; l = l->next)
    {
      const gchar *key = l->data;
      if (is_informational (c->object, key))
        continue;
      Result *r = g_hash_table_lookup (results->values, key);
      g_autofree gchar *why = NULL;
      if (r == NULL)
        why = g_strdup ("not produced");
      else
        compare_key (c, key, json_object_get_member (eo, key), r, &stats, &why);
      if (why)
        {
          g_autofree gchar *d = g_strdup_printf (": %s: %s", key, why);
          report (tally, "FAIL", c, d);
          return;
        }
      checked++;
    }
  g_autofree gchar *d = NULL;
  if (stats.count > 0)
    d = g_strdup_printf (" (%d keys; worst |err| %.3g = %.3g of tolerance; %.2f s)", checked,
                         stats.worst_abs, stats.worst_ratio, g_get_monotonic_time () / 1e6 - t0);
  else
    d = g_strdup_printf (" (%d keys, exact)", checked);
  report (tally, "PASS", c, tally->verbose ? d : d);
}

static gboolean
kind_selected (const gchar        *kind,
               const gchar *const *prefixes)
{
  if (prefixes == NULL || prefixes[0] == NULL)
    return TRUE;
  for (gsize i = 0; prefixes[i]; i++)
    if (g_str_has_prefix (kind, prefixes[i]))
      return TRUE;
  return FALSE;
}

static JsonNode *
load_json (const gchar *path,
           gboolean     required,
           GError     **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!g_file_test (path, G_FILE_TEST_EXISTS) && !required)
    return NULL;
  if (!json_parser_load_from_mapped_file (parser, path, &local))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: %s; is this a fixture folder?", path, local->message);
      return NULL;
    }
  return json_node_copy (json_parser_get_root (parser));
}

/* ------------------------------------------------------------------ reader cross-check */

static gint
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

/* every folder below `dir` (two levels) holding both model.safetensors and pytorch_model.bin must
 * load to identical tensors for every name both hold */
static void
check_reader_pairs (const gchar *dir,
                    gint         depth,
                    Tally       *tally)
{
  g_autofree gchar *st_path = g_build_filename (dir, "model.safetensors", NULL);
  g_autofree gchar *bin_path = g_build_filename (dir, "pytorch_model.bin", NULL);
  if (g_file_test (st_path, G_FILE_TEST_EXISTS) && g_file_test (bin_path, G_FILE_TEST_EXISTS))
    {
      GillCheckCase c = { .folder = dir, .kind = "io.reader", .name = "safetensors==pytorch_model.bin" };
      g_autoptr (GError) error = NULL;
      g_autoptr (GillStore) st = gill_store_new ();
      g_autoptr (GillStore) bin = gill_store_new ();
      if (!gill_store_add_file (st, st_path, &error) || !gill_store_add_file (bin, bin_path, &error))
        {
          g_autofree gchar *d = g_strdup_printf (": %s", error->message);
          report (tally, "FAIL", &c, d);
        }
      else
        {
          g_autoptr (GPtrArray) names = gill_store_names_sorted (st);
          guint common = 0;
          g_autofree gchar *why = NULL;
          for (guint i = 0; i < names->len && why == NULL; i++)
            {
              const gchar *name = g_ptr_array_index (names, i);
              GillTensor *a = gill_store_lookup (st, name);
              GillTensor *b = gill_store_lookup (bin, name);
              if (b == NULL)
                continue;
              common++;
              g_autoptr (GArray) fa = g_array_new (FALSE, FALSE, sizeof (Scalar));
              g_autoptr (GArray) fb = g_array_new (FALSE, FALSE, sizeof (Scalar));
              Stats stats = { 0 };
              g_autofree gchar *diff = NULL;
              if (a->dtype != b->dtype)
                diff = g_strdup_printf ("dtype %s vs %s", gill_dtype_name (a->dtype), gill_dtype_name (b->dtype));
              else if (shapes_agree (a, b, &diff))
                {
                  flatten_tensor (a, fa, NULL);
                  flatten_tensor (b, fb, NULL);
                  compare_scalars (fa, fb, 0, 0, &stats, &diff);
                }
              if (diff)
                why = g_strdup_printf (": tensor '%s': %s", name, diff);
            }
          if (why == NULL && common == 0)
            why = g_strdup (": the two files share no tensor name");
          g_autofree gchar *d = why ? NULL : g_strdup_printf (" (%u tensors identical)", common);
          report (tally, why ? "FAIL" : "PASS", &c, why ? why : d);
        }
    }
  if (depth == 0)
    return;
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const gchar *entry;
  g_autoptr (GPtrArray) subs = g_ptr_array_new_with_free_func (g_free);
  while (d && (entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree gchar *sub = g_build_filename (dir, entry, NULL);
      if (g_file_test (sub, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (subs, g_steal_pointer (&sub));
    }
  g_ptr_array_sort (subs, compare_paths);
  for (guint i = 0; i < subs->len; i++)
    check_reader_pairs (g_ptr_array_index (subs, i), depth - 1, tally);
}

/* run every selected case of one fixture folder */
static gboolean
check_folder (const gchar        *folder,
              const gchar *const *prefixes,
              Tally              *tally,
              GError            **error)
{
  g_autofree gchar *cases_path = g_build_filename (folder, "cases.json", NULL);
  g_autofree gchar *manifest_path = g_build_filename (folder, "manifest.json", NULL);
  g_autofree gchar *golden_path = g_build_filename (folder, "golden.safetensors", NULL);
  g_autoptr (JsonNode) cases = load_json (cases_path, TRUE, error);
  if (cases == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (cases))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT, "%s: not a JSON list of cases", cases_path);
      return FALSE;
    }
  g_autoptr (JsonNode) manifest = load_json (manifest_path, FALSE, error);
  if (manifest == NULL && error && *error)
    return FALSE;
  g_autoptr (GillTensorList) golden = NULL;
  if (g_file_test (golden_path, G_FILE_TEST_EXISTS) && (golden = gill_safetensors_open (golden_path, error)) == NULL)
    return FALSE;

  g_autoptr (GHashTable) cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) cached_free);
  JsonArray *list = json_node_get_array (cases);
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);
      GillCheckCase c = { .folder = folder, .golden = golden, .cache = cache };
      c.manifest = manifest && JSON_NODE_HOLDS_OBJECT (manifest) ? json_node_get_object (manifest) : NULL;
      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          c.kind = "?";
          c.name = "?";
          report (tally, "FAIL", &c, ": a case that is not a JSON object");
          continue;
        }
      c.object = json_node_get_object (node);
      c.kind = object_string (c.object, "kind") ?: "?";
      c.name = object_string (c.object, "name") ?: "?";
      if (!kind_selected (c.kind, prefixes))
        continue;
      gboolean documented;
      const GillCheckKind *kind = find_kind (c.kind, &documented);
      if (kind == NULL || kind->run == NULL)
        {
          if (documented)
            report (tally, "SKIP", &c, ": not implemented");
          else
            report (tally, "FAIL", &c, ": kind not documented in the fixtures README");
          continue;
        }
      g_auto (GStrv) layouts = kind->layouts ? kind->layouts (&c) : NULL;
      if (layouts == NULL)
        run_case (&c, kind, tally);
      for (gsize l = 0; layouts && layouts[l]; l++)
        {
          c.layout = layouts[l];
          run_case (&c, kind, tally);
        }
    }
  if (kind_selected ("io.reader", prefixes))
    check_reader_pairs (folder, 2, tally);
  return TRUE;
}

int
gill_cmd_check (int argc, char **argv)
{
  g_auto (GStrv) prefixes = NULL;
  gboolean verbose = FALSE;
  const GOptionEntry entries[] = {
    { "kind", 'k', 0, G_OPTION_ARG_STRING_ARRAY, &prefixes, "run only the kinds starting with PREFIX (repeatable)", "PREFIX" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "more detail on each line", NULL },
    { NULL }
  };
  if (!gill_cli_parse ("check", "DIR...",
                       "Run every case of each DIR/cases.json (schema: the fixtures README) and compare\n"
                       "the outputs with the goldens. Prints PASS/FAIL/SKIP per case and ends with the\n"
                       "line 'N passed, M failed, K skipped'. Exit status 1 if anything failed.",
                       entries, NULL, &argc, &argv))
    return GILL_EXIT_USAGE;
  if (argc < 2)
    {
      fprintf (stderr, "gill check: no fixture folder given; run 'gill check --help' for usage\n");
      return GILL_EXIT_USAGE;
    }
  Tally tally = { .verbose = verbose };
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree gchar *folder = g_strdup (argv[i]);
      gsize n = strlen (folder);
      while (n > 1 && folder[n - 1] == '/')
        folder[--n] = '\0';
      if (!check_folder (folder, (const gchar *const *) prefixes, &tally, &error))
        {
          gill_cli_print_error (error);
          tally.failed++;
        }
    }
  printf ("%d passed, %d failed, %d skipped\n", tally.passed, tally.failed, tally.skipped);
  return tally.failed ? GILL_EXIT_FAILURE : GILL_EXIT_OK;
}
