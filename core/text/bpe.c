/* bpe.c — the byte-level BPE engine (see bpe.h).
 *
 * Reference: transformers v4.30.2 GPT2Tokenizer.bpe / CLIPTokenizer.bpe and
 * bytes_to_unicode (models.md §1.6, §2.6). The reference merges with a quadratic loop; this file
 * reproduces its result with a binary heap of (rank, position) over a doubly linked list of
 * symbols:
 *
 *   - the reference picks the lowest-ranked adjacent pair and merges every non-overlapping
 *     occurrence of it left to right, then looks again;
 *   - here the heap pops occurrences in (rank, position) order; one rank is finished (all its
 *     occurrences, left to right, each re-checked against the current list) before the pairs the
 *     merges created are pushed, so the order of merges is the reference's even for merge files
 *     whose ranks are not consistent with the order tokens were built in. */
#include "core/text/bpe.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "core/base/error.h"

#define BPE_NO_RANK G_MAXUINT32
#define BPE_CACHE_MAX_KEY 64          /* pieces longer than this are not cached */
#define BPE_CACHE_MAX_ENTRIES (1u << 16)

/* ---- the merge table: (left, right) -> (rank, merged symbol), open addressing ---------------- */

typedef struct
{
  guint64 key;      /* left << 32 | right; G_MAXUINT64 = empty */
  guint32 rank;
  guint32 result;
} BpeMerge;

typedef struct
{
  BpeMerge *slots;
  gsize mask;       /* capacity - 1 */
  gsize count;
} BpeMergeTable;

struct _GillBpe
{
  GPtrArray *symbols;        /* gchar * by symbol id (owned; NULL for unused vocabulary ids) */
  GHashTable *symbol_ids;    /* gchar * (borrowed from symbols) -> GUINT_TO_POINTER (id + 1) */
  guint32 n_ids;             /* vocabulary ids are < n_ids; symbols >= n_ids are extras */
  guint32 vocab_size;        /* vocabulary entries */
  gboolean sealed;           /* merges loaded: the vocabulary is complete */
  gchar *suffix;             /* end-of-word suffix or NULL */
  guint32 byte_symbol[256];
  guint32 byte_symbol_end[256];
  BpeMergeTable merges;
};

typedef struct
{
  guint32 rank;
  guint32 pos;
} BpeHeapItem;

typedef struct
{
  guint32 hash;
  guint32 key_off;
  guint32 key_len;
  guint32 val_off;
  guint32 val_len;
} BpeCacheEntry;

struct _GillBpeWork
{
  /* the linked list of one piece */
  guint32 *sym;
  gint32 *prev;
  gint32 *next;
  gsize capacity;
  GArray *heap;        /* BpeHeapItem */
  GArray *deferred;    /* BpeHeapItem */
  /* cache: piece bytes -> symbols */
  BpeCacheEntry *cache;     /* cache_mask + 1 slots; key_len == 0 = empty */
  gsize cache_mask;
  gsize cache_count;
  GByteArray *cache_keys;
  GArray *cache_values;     /* guint32 */
};

static inline guint64
bpe_merge_key (guint32 left,
               guint32 right)
{
  return ((guint64) left << 32) | right;
}

static inline gsize
bpe_merge_hash (guint64 key)
{
  return (gsize) ((key * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)) >> 20);
}

static void
bpe_merge_table_init (BpeMergeTable *t,
                      gsize          capacity)
{
  gsize cap = 64;
  while (cap < capacity * 2)
    cap <<= 1;
  t->slots = g_new (BpeMerge, cap);
  for (gsize i = 0; i < cap; i++)
    t->slots[i].key = G_MAXUINT64;
  t->mask = cap - 1;
  t->count = 0;
}

static const BpeMerge *
bpe_merge_table_find (const BpeMergeTable *t,
                      guint64              key)
{
  if (t->slots == NULL)
    return NULL;
  gsize i = bpe_merge_hash (key) & t->mask;
  for (;;)
    {
      const BpeMerge *m = &t->slots[i];
      if (m->key == key)
        return m;
      if (m->key == G_MAXUINT64)
        return NULL;
      i = (i + 1) & t->mask;
    }
}

/* a later duplicate of a pair overwrites the earlier rank, as dict(zip(merges, range(n))) does */
static void
bpe_merge_table_insert (BpeMergeTable *t,
                        guint64        key,
                        guint32        rank,
                        guint32        result)
{
  gsize i = bpe_merge_hash (key) & t->mask;
  while (t->slots[i].key != G_MAXUINT64 && t->slots[i].key != key)
    i = (i + 1) & t->mask;
  if (t->slots[i].key == G_MAXUINT64)
    t->count++;
  t->slots[i].key = key;
  t->slots[i].rank = rank;
  t->slots[i].result = result;
}

/* ---- the byte-level alphabet (GPT-2's bytes_to_unicode) --------------------------------------- */

gunichar
gill_bpe_byte_to_char (guint8 b)
{
  /* printable Latin-1 bytes stand for themselves; the other 68 (0-32, 127-160, 173) are
   * numbered in byte order from U+0100 */
  if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)
    return b;
  if (b <= 32)
    return 256 + b;
  if (b <= 160)
    return 256 + 33 + (b - 127);
  return 256 + 67;    /* 173 */
}

gint
gill_bpe_char_to_byte (gunichar c)
{
  if ((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255))
    return (gint) c;
  if (c >= 256 && c <= 256 + 32)
    return (gint) (c - 256);
  if (c >= 256 + 33 && c <= 256 + 66)
    return (gint) (c - 256 - 33 + 127);
  if (c == 256 + 67)
    return 173;
  return -1;
}

/* ---- the vocabulary ---------------------------------------------------------------------------- */

GillBpe *
gill_bpe_new (const gchar *end_of_word_suffix)
{
  GillBpe *bpe = g_new0 (GillBpe, 1);
  bpe->symbols = g_ptr_array_new_with_free_func (g_free);
  bpe->symbol_ids = g_hash_table_new (g_str_hash, g_str_equal);
  bpe->suffix = g_strdup (end_of_word_suffix);
  return bpe;
}

void
gill_bpe_free (GillBpe *bpe)
{
  if (bpe == NULL)
    return;
  g_hash_table_unref (bpe->symbol_ids);
  g_ptr_array_unref (bpe->symbols);
  g_free (bpe->merges.slots);
  g_free (bpe->suffix);
  g_free (bpe);
}

static guint32
bpe_lookup (const GillBpe *bpe,
            const gchar   *s,
            gboolean      *found)
{
  gpointer v = g_hash_table_lookup (bpe->symbol_ids, s);
  *found = v != NULL;
  return v ? GPOINTER_TO_UINT (v) - 1 : 0;
}

/* the symbol for s, adding it past the vocabulary if it is new; takes s */
static guint32
bpe_intern (GillBpe *bpe,
            gchar   *s)
{
  gboolean found;
  guint32 id = bpe_lookup (bpe, s, &found);
  if (found)
    {
      g_free (s);
      return id;
    }
  id = bpe->symbols->len;
  g_ptr_array_add (bpe->symbols, s);
  g_hash_table_insert (bpe->symbol_ids, s, GUINT_TO_POINTER (id + 1));
  return id;
}

void
gill_bpe_add_vocab_token (GillBpe     *bpe,
                          const gchar *token,
                          gint32       id)
{
  g_return_if_fail (!bpe->sealed && id >= 0);
  if ((guint) id >= bpe->symbols->len)
    g_ptr_array_set_size (bpe->symbols, id + 1);
  gchar *old = g_ptr_array_index (bpe->symbols, id);
  if (old != NULL && GPOINTER_TO_UINT (g_hash_table_lookup (bpe->symbol_ids, old)) == (guint) id + 1)
    g_hash_table_remove (bpe->symbol_ids, old);
  else
    bpe->vocab_size++;
  gchar *copy = g_strdup (token);
  gpointer previous = g_hash_table_lookup (bpe->symbol_ids, copy);
  if (previous != NULL)
    bpe->vocab_size--;            /* the token moves to the later id, as a dict keeps the last */
  g_ptr_array_index (bpe->symbols, id) = copy;   /* frees nothing: old is freed below */
  g_hash_table_insert (bpe->symbol_ids, copy, GUINT_TO_POINTER ((guint) id + 1));
  g_free (old);
  bpe->n_ids = MAX (bpe->n_ids, (guint32) id + 1);
}

gboolean
gill_bpe_load_vocab_json (GillBpe     *bpe,
                          const gchar *path,
                          GError     **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  if (!json_parser_load_from_mapped_file (parser, path, &local))
    {
      gboolean missing = g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      g_set_error (error, GILL_ERROR, missing ? GILL_ERROR_MODEL_MISSING : GILL_ERROR_FORMAT,
                   "%s: cannot read the vocabulary: %s; is this a tokenizer folder?", path,
                   local->message);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                   "%s: expected a JSON object of token -> id; is this a BPE vocab.json?", path);
      return FALSE;
    }
  JsonObjectIter iter;
  const gchar *token;
  JsonNode *node;
  json_object_iter_init (&iter, json_node_get_object (root));
  while (json_object_iter_next (&iter, &token, &node))
    {
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
          || json_node_get_int (node) < 0 || json_node_get_int (node) >= G_MAXINT32)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                       "%s: token '%s': expected an id from 0 to %d; is this a BPE vocab.json?",
                       path, token, G_MAXINT32 - 1);
          return FALSE;
        }
      gill_bpe_add_vocab_token (bpe, token, (gint32) json_node_get_int (node));
    }
  return TRUE;
}

gint32
gill_bpe_token_to_id (const GillBpe *bpe,
                      const gchar   *token)
{
  gboolean found;
  guint32 id = bpe_lookup (bpe, token, &found);
  return found && id < bpe->n_ids ? (gint32) id : -1;
}

const gchar *
gill_bpe_symbol_string (const GillBpe *bpe,
                        guint32        symbol)
{
  return symbol < bpe->symbols->len ? g_ptr_array_index (bpe->symbols, symbol) : NULL;
}

guint32
gill_bpe_n_ids (const GillBpe *bpe)
{
  return bpe->n_ids;
}

guint32
gill_bpe_vocab_size (const GillBpe *bpe)
{
  return bpe->vocab_size;
}

/* ---- merges ------------------------------------------------------------------------------------ */

/* the byte-level symbols every piece starts from */
static void
bpe_seal (GillBpe *bpe)
{
  bpe->sealed = TRUE;
  for (guint b = 0; b < 256; b++)
    {
      gchar ch[8] = { 0 };
      g_unichar_to_utf8 (gill_bpe_byte_to_char (b), ch);
      bpe->byte_symbol[b] = bpe_intern (bpe, g_strdup (ch));
      bpe->byte_symbol_end[b] = bpe->suffix ? bpe_intern (bpe, g_strconcat (ch, bpe->suffix, NULL))
                                            : bpe->byte_symbol[b];
    }
}

static gboolean
bpe_is_space (gchar c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

gboolean
gill_bpe_load_merges (GillBpe            *bpe,
                      const gchar        *text,
                      gsize               len,
                      GillBpeMergesFormat format,
                      const gchar        *name,
                      GError            **error)
{
  g_return_val_if_fail (!bpe->sealed, FALSE);
  bpe_seal (bpe);

  /* cut into lines the way each reference does */
  const gchar *begin = text, *end = text + len;
  gsize max_merges = G_MAXSIZE;
  if (format == GILL_BPE_MERGES_CLIP)
    {
      while (begin < end && g_ascii_isspace (*begin))
        begin++;
      while (end > begin && g_ascii_isspace (end[-1]))
        end--;
    }
  if (format != GILL_BPE_MERGES_GPT2)
    max_merges = 49152 - 256 - 2;
  GArray *lines = g_array_new (FALSE, FALSE, sizeof (const gchar *));
  const gchar *p = begin;
  for (;;)
    {
      g_array_append_val (lines, p);
      const gchar *nl = memchr (p, '\n', end - p);
      if (nl == NULL)
        break;
      p = nl + 1;
    }
  g_array_append_val (lines, end);   /* sentinel: line i is [lines[i], lines[i+1] - 1) */
  gsize n_lines = lines->len - 1;
  gsize first = 1, last = n_lines;   /* merges are lines [first, last) */
  if (format == GILL_BPE_MERGES_GPT2 && last > 0)
    last--;
  if (last > first && last - first > max_merges)
    last = first + max_merges;

  bpe_merge_table_init (&bpe->merges, last > first ? last - first : 1);
  gboolean ok = TRUE;
  for (gsize i = first; i < last && ok; i++)
    {
      const gchar *a = g_array_index (lines, const gchar *, i);
      const gchar *e = g_array_index (lines, const gchar *, i + 1);
      if (e > a && i + 1 < lines->len - 1)
        e--;                                    /* drop the '\n' */
      else if (e > a && e[-1] == '\n')
        e--;
      /* split on whitespace, as str.split() */
      const gchar *fields[3];
      gsize lens[3];
      gsize n = 0;
      const gchar *q = a;
      while (q < e)
        {
          while (q < e && bpe_is_space (*q))
            q++;
          if (q >= e)
            break;
          const gchar *s = q;
          while (q < e && !bpe_is_space (*q))
            q++;
          if (n < 3)
            {
              fields[n] = s;
              lens[n] = q - s;
            }
          n++;
        }
      if (n == 0)
        continue;                               /* an empty line never matches a pair */
      if (n != 2)
        {
          g_set_error (error, GILL_ERROR, GILL_ERROR_FORMAT,
                       "%s: line %" G_GSIZE_FORMAT ": expected two symbols separated by a space, "
                       "found %" G_GSIZE_FORMAT "; is this a BPE merges file?", name, i + 1, n);
          ok = FALSE;
          break;
        }
      gchar *left = g_strndup (fields[0], lens[0]);
      gchar *right = g_strndup (fields[1], lens[1]);
      gchar *merged = g_strconcat (left, right, NULL);
      guint32 l = bpe_intern (bpe, left);
      guint32 r = bpe_intern (bpe, right);
      guint32 m = bpe_intern (bpe, merged);
      bpe_merge_table_insert (&bpe->merges, bpe_merge_key (l, r), (guint32) (i - first), m);
    }
  g_array_unref (lines);
  return ok;
}

/* ---- encoding ---------------------------------------------------------------------------------- */

GillBpeWork *
gill_bpe_work_new (void)
{
  GillBpeWork *w = g_new0 (GillBpeWork, 1);
  w->heap = g_array_new (FALSE, FALSE, sizeof (BpeHeapItem));
  w->deferred = g_array_new (FALSE, FALSE, sizeof (BpeHeapItem));
  w->cache_mask = 1023;
  w->cache = g_new0 (BpeCacheEntry, w->cache_mask + 1);
  w->cache_keys = g_byte_array_new ();
  w->cache_values = g_array_new (FALSE, FALSE, sizeof (guint32));
  return w;
}

void
gill_bpe_work_free (GillBpeWork *w)
{
  if (w == NULL)
    return;
  g_free (w->sym);
  g_free (w->prev);
  g_free (w->next);
  g_array_unref (w->heap);
  g_array_unref (w->deferred);
  g_free (w->cache);
  g_byte_array_unref (w->cache_keys);
  g_array_unref (w->cache_values);
  g_free (w);
}

static void
bpe_work_reserve (GillBpeWork *w,
                  gsize        n)
{
  if (n <= w->capacity)
    return;
  gsize cap = MAX (n, w->capacity * 2);
  w->sym = g_renew (guint32, w->sym, cap);
  w->prev = g_renew (gint32, w->prev, cap);
  w->next = g_renew (gint32, w->next, cap);
  w->capacity = cap;
}

static inline gboolean
bpe_heap_less (const BpeHeapItem *a,
               const BpeHeapItem *b)
{
  return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void
bpe_heap_push (GArray     *heap,
               BpeHeapItem item)
{
  g_array_append_val (heap, item);
  BpeHeapItem *h = (BpeHeapItem *) heap->data;
  gsize i = heap->len - 1;
  while (i > 0)
    {
      gsize parent = (i - 1) / 2;
      if (!bpe_heap_less (&item, &h[parent]))
        break;
      h[i] = h[parent];
      i = parent;
    }
  h[i] = item;
}

static BpeHeapItem
bpe_heap_pop (GArray *heap)
{
  BpeHeapItem *h = (BpeHeapItem *) heap->data;
  BpeHeapItem top = h[0];
  BpeHeapItem last = h[heap->len - 1];
  g_array_set_size (heap, heap->len - 1);
  gsize n = heap->len, i = 0;
  if (n == 0)
    return top;
  for (;;)
    {
      gsize child = 2 * i + 1;
      if (child >= n)
        break;
      if (child + 1 < n && bpe_heap_less (&h[child + 1], &h[child]))
        child++;
      if (!bpe_heap_less (&h[child], &last))
        break;
      h[i] = h[child];
      i = child;
    }
  h[i] = last;
  return top;
}

static inline guint32
bpe_pair_rank (const GillBpe *bpe,
               guint32        left,
               guint32        right,
               guint32       *result)
{
  const BpeMerge *m = bpe_merge_table_find (&bpe->merges, bpe_merge_key (left, right));
  if (m == NULL)
    return BPE_NO_RANK;
  *result = m->result;
  return m->rank;
}

static void
bpe_push_pair (const GillBpe *bpe,
               GillBpeWork   *w,
               GArray        *into,
               gint32         pos)
{
  if (pos < 0 || w->next[pos] < 0)
    return;
  gint32 next = w->next[pos];
  guint32 result;
  guint32 rank = bpe_pair_rank (bpe, w->sym[pos], w->sym[next], &result);
  if (rank == BPE_NO_RANK)
    return;
  BpeHeapItem item = { rank, (guint32) pos };
  if (into == w->heap)
    bpe_heap_push (w->heap, item);
  else
    g_array_append_val (into, item);
}

/* merges w->sym[0..n) in place (linked through prev/next; node 0 is always the head) */
static void
bpe_merge (const GillBpe *bpe,
           GillBpeWork   *w,
           gsize          n)
{
  for (gsize i = 0; i < n; i++)
    {
      w->prev[i] = (gint32) i - 1;
      w->next[i] = i + 1 < n ? (gint32) i + 1 : -1;
    }
  g_array_set_size (w->heap, 0);
  for (gsize i = 0; i + 1 < n; i++)
    bpe_push_pair (bpe, w, w->heap, (gint32) i);

  while (w->heap->len > 0)
    {
      guint32 rank = g_array_index (w->heap, BpeHeapItem, 0).rank;
      g_array_set_size (w->deferred, 0);
      /* every occurrence of this one pair, left to right */
      while (w->heap->len > 0 && g_array_index (w->heap, BpeHeapItem, 0).rank == rank)
        {
          BpeHeapItem item = bpe_heap_pop (w->heap);
          gint32 i = (gint32) item.pos;
          gint32 j = w->next[i];
          if (j < 0 || w->prev[i] == -2)
            continue;                          /* merged away or at the end now */
          guint32 result = 0;
          if (bpe_pair_rank (bpe, w->sym[i], w->sym[j], &result) != rank)
            continue;                          /* the pair at i changed */
          w->sym[i] = result;
          w->next[i] = w->next[j];
          if (w->next[j] >= 0)
            w->prev[w->next[j]] = i;
          w->prev[j] = -2;                     /* mark j dead */
          w->next[j] = -1;
          if (w->prev[i] >= 0)
            bpe_push_pair (bpe, w, w->deferred, w->prev[i]);
          bpe_push_pair (bpe, w, w->deferred, i);
        }
      for (guint k = 0; k < w->deferred->len; k++)
        bpe_heap_push (w->heap, g_array_index (w->deferred, BpeHeapItem, k));
    }
}

static guint32
bpe_cache_hash (const guint8 *s,
                gsize         len)
{
  guint32 h = 2166136261u;
  for (gsize i = 0; i < len; i++)
    h = (h ^ s[i]) * 16777619u;
  return h | 1;   /* never 0 */
}

static const BpeCacheEntry *
bpe_cache_find (const GillBpeWork *w,
                const guint8      *piece,
                gsize              len,
                guint32            hash)
{
  gsize i = hash & w->cache_mask;
  for (;;)
    {
      const BpeCacheEntry *e = &w->cache[i];
      if (e->key_len == 0)
        return NULL;
      if (e->hash == hash && e->key_len == len
          && memcmp (w->cache_keys->data + e->key_off, piece, len) == 0)
        return e;
      i = (i + 1) & w->cache_mask;
    }
}

static void
bpe_cache_clear (GillBpeWork *w,
                 gsize        mask)
{
  g_free (w->cache);
  w->cache_mask = mask;
  w->cache = g_new0 (BpeCacheEntry, mask + 1);
  w->cache_count = 0;
  g_byte_array_set_size (w->cache_keys, 0);
  g_array_set_size (w->cache_values, 0);
}

static void
bpe_cache_insert (GillBpeWork    *w,
                  const guint8   *piece,
                  gsize           len,
                  guint32         hash,
                  const guint32  *symbols,
                  gsize           n)
{
  if (w->cache_count >= BPE_CACHE_MAX_ENTRIES)
    bpe_cache_clear (w, w->cache_mask);
  if ((w->cache_count + 1) * 2 > w->cache_mask + 1)
    {
      /* grow: rehash every entry into a table twice the size */
      BpeCacheEntry *old = w->cache;
      gsize old_cap = w->cache_mask + 1;
      w->cache_mask = old_cap * 2 - 1;
      w->cache = g_new0 (BpeCacheEntry, old_cap * 2);
      for (gsize k = 0; k < old_cap; k++)
        if (old[k].key_len != 0)
          {
            gsize i = old[k].hash & w->cache_mask;
            while (w->cache[i].key_len != 0)
              i = (i + 1) & w->cache_mask;
            w->cache[i] = old[k];
          }
      g_free (old);
    }
  gsize i = hash & w->cache_mask;
  while (w->cache[i].key_len != 0)
    i = (i + 1) & w->cache_mask;
  BpeCacheEntry *e = &w->cache[i];
  e->hash = hash;
  e->key_off = w->cache_keys->len;
  e->key_len = (guint32) len;
  e->val_off = w->cache_values->len;
  e->val_len = (guint32) n;
  g_byte_array_append (w->cache_keys, piece, (guint) len);
  g_array_append_vals (w->cache_values, symbols, (guint) n);
  w->cache_count++;
}

void
gill_bpe_encode_piece (const GillBpe *bpe,
                       GillBpeWork   *w,
                       const guint8  *piece,
                       gsize          len,
                       GArray        *out)
{
  g_return_if_fail (bpe->sealed);
  if (len == 0)
    return;
  guint32 hash = 0;
  if (len <= BPE_CACHE_MAX_KEY)
    {
      hash = bpe_cache_hash (piece, len);
      const BpeCacheEntry *e = bpe_cache_find (w, piece, len, hash);
      if (e != NULL)
        {
          g_array_append_vals (out, &g_array_index (w->cache_values, guint32, e->val_off), e->val_len);
          return;
        }
    }

  bpe_work_reserve (w, len);
  for (gsize i = 0; i + 1 < len; i++)
    w->sym[i] = bpe->byte_symbol[piece[i]];
  w->sym[len - 1] = bpe->byte_symbol_end[piece[len - 1]];
  if (len > 1)
    bpe_merge (bpe, w, len);

  guint start = out->len;
  for (gint32 i = 0; i >= 0; i = len > 1 ? w->next[i] : -1)
    g_array_append_val (out, w->sym[i]);
  if (len <= BPE_CACHE_MAX_KEY)
    bpe_cache_insert (w, piece, len, hash, &g_array_index (out, guint32, start), out->len - start);
}
