/* test-pickle.c — the restricted unpickler (core/io/pickle.c), GillValue trees (value.c) and
 * torch checkpoints (torch.c) on the shared fixtures. Fixtures come from $GILL_FIXTURES; values
 * are compared with io/golden.safetensors as read by gill's own safetensors reader. */
#include "core/io/pickle.h"

#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/base/error.h"
#include "core/io/safetensors.h"
#include "core/io/torch.h"

/* ------------------------------------------------------------------------------------------ */
/* synthetic pickles, written opcode by opcode (protocol 2 unless said) */

#define P2 "\x80\x02"
#define BINUNICODE(n, s) "X" n "\x00\x00\x00" s
/* ('storage', torch.FloatStorage, key, 'cpu', numel) as a persistent id */
#define FLOAT_STORAGE(key, numel) \
  "(" BINUNICODE ("\x07", "storage") "ctorch\nFloatStorage\n" BINUNICODE ("\x01", key) \
  BINUNICODE ("\x03", "cpu") "K" numel "tQ"
/* _rebuild_tensor_v2(storage, offset, (size,), (stride,), False, OrderedDict()) */
#define REBUILD_1D(storage, offset, size, stride) \
  "ctorch._utils\n_rebuild_tensor_v2\n(" storage "K" offset "K" size "\x85" "K" stride "\x85" \
  "\x89" "ccollections\nOrderedDict\n)R" "tR"

static const guint8 numpy_protocol2[] = {
  0x80, 0x02, 0x7d, 0x28, 0x58, 0x01, 0x00, 0x00, 0x00, 0x63, 0x63, 0x6e, 0x75, 0x6d, 0x70, 0x79,
  0x2e, 0x63, 0x6f, 0x72, 0x65, 0x2e, 0x6d, 0x75, 0x6c, 0x74, 0x69, 0x61, 0x72, 0x72, 0x61, 0x79,
  0x0a, 0x5f, 0x72, 0x65, 0x63, 0x6f, 0x6e, 0x73, 0x74, 0x72, 0x75, 0x63, 0x74, 0x0a, 0x63, 0x6e,
  0x75, 0x6d, 0x70, 0x79, 0x0a, 0x6e, 0x64, 0x61, 0x72, 0x72, 0x61, 0x79, 0x0a, 0x4b, 0x00, 0x85,
  0x63, 0x5f, 0x63, 0x6f, 0x64, 0x65, 0x63, 0x73, 0x0a, 0x65, 0x6e, 0x63, 0x6f, 0x64, 0x65, 0x0a,
  0x58, 0x01, 0x00, 0x00, 0x00, 0x62, 0x58, 0x06, 0x00, 0x00, 0x00, 0x6c, 0x61, 0x74, 0x69, 0x6e,
  0x31, 0x86, 0x52, 0x87, 0x52, 0x28, 0x4b, 0x01, 0x28, 0x4b, 0x02, 0x4b, 0x03, 0x74, 0x63, 0x6e,
  0x75, 0x6d, 0x70, 0x79, 0x0a, 0x64, 0x74, 0x79, 0x70, 0x65, 0x0a, 0x58, 0x02, 0x00, 0x00, 0x00,
  0x66, 0x34, 0x89, 0x88, 0x87, 0x52, 0x28, 0x4b, 0x03, 0x58, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x4e,
  0x4e, 0x4e, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4b, 0x00, 0x74, 0x62,
  0x89, 0x63, 0x5f, 0x63, 0x6f, 0x64, 0x65, 0x63, 0x73, 0x0a, 0x65, 0x6e, 0x63, 0x6f, 0x64, 0x65,
  0x0a, 0x58, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc2, 0x80, 0x3f, 0x00,
  0x00, 0x00, 0x40, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0xc2, 0x80, 0x40, 0x00, 0x00, 0xc2, 0xa0,
  0x40, 0x58, 0x06, 0x00, 0x00, 0x00, 0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x86, 0x52, 0x74, 0x62,
  0x58, 0x01, 0x00, 0x00, 0x00, 0x66, 0x63, 0x6e, 0x75, 0x6d, 0x70, 0x79, 0x2e, 0x63, 0x6f, 0x72,
  0x65, 0x2e, 0x6d, 0x75, 0x6c, 0x74, 0x69, 0x61, 0x72, 0x72, 0x61, 0x79, 0x0a, 0x5f, 0x72, 0x65,
  0x63, 0x6f, 0x6e, 0x73, 0x74, 0x72, 0x75, 0x63, 0x74, 0x0a, 0x63, 0x6e, 0x75, 0x6d, 0x70, 0x79,
  0x0a, 0x6e, 0x64, 0x61, 0x72, 0x72, 0x61, 0x79, 0x0a, 0x4b, 0x00, 0x85, 0x63, 0x5f, 0x63, 0x6f,
  0x64, 0x65, 0x63, 0x73, 0x0a, 0x65, 0x6e, 0x63, 0x6f, 0x64, 0x65, 0x0a, 0x58, 0x01, 0x00, 0x00,
  0x00, 0x62, 0x58, 0x06, 0x00, 0x00, 0x00, 0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x86, 0x52, 0x87,
  0x52, 0x28, 0x4b, 0x01, 0x28, 0x4b, 0x02, 0x4b, 0x03, 0x74, 0x63, 0x6e, 0x75, 0x6d, 0x70, 0x79,
  0x0a, 0x64, 0x74, 0x79, 0x70, 0x65, 0x0a, 0x58, 0x02, 0x00, 0x00, 0x00, 0x66, 0x34, 0x89, 0x88,
  0x87, 0x52, 0x28, 0x4b, 0x03, 0x58, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x4e, 0x4e, 0x4e, 0x4a, 0xff,
  0xff, 0xff, 0xff, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4b, 0x00, 0x74, 0x62, 0x88, 0x63, 0x5f, 0x63,
  0x6f, 0x64, 0x65, 0x63, 0x73, 0x0a, 0x65, 0x6e, 0x63, 0x6f, 0x64, 0x65, 0x0a, 0x58, 0x1b, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc2, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x00,
  0x00, 0x40, 0x40, 0x00, 0x00, 0xc2, 0x80, 0x40, 0x00, 0x00, 0xc2, 0xa0, 0x40, 0x58, 0x06, 0x00,
  0x00, 0x00, 0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x86, 0x52, 0x74, 0x62, 0x58, 0x01, 0x00, 0x00,
  0x00, 0x69, 0x63, 0x6e, 0x75, 0x6d, 0x70, 0x79, 0x2e, 0x63, 0x6f, 0x72, 0x65, 0x2e, 0x6d, 0x75,
  0x6c, 0x74, 0x69, 0x61, 0x72, 0x72, 0x61, 0x79, 0x0a, 0x5f, 0x72, 0x65, 0x63, 0x6f, 0x6e, 0x73,
  0x74, 0x72, 0x75, 0x63, 0x74, 0x0a, 0x63, 0x6e, 0x75, 0x6d, 0x70, 0x79, 0x0a, 0x6e, 0x64, 0x61,
  0x72, 0x72, 0x61, 0x79, 0x0a, 0x4b, 0x00, 0x85, 0x63, 0x5f, 0x63, 0x6f, 0x64, 0x65, 0x63, 0x73,
  0x0a, 0x65, 0x6e, 0x63, 0x6f, 0x64, 0x65, 0x0a, 0x58, 0x01, 0x00, 0x00, 0x00, 0x62, 0x58, 0x06,
  0x00, 0x00, 0x00, 0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x86, 0x52, 0x87, 0x52, 0x28, 0x4b, 0x01,
  0x28, 0x4b, 0x03, 0x74, 0x63, 0x6e, 0x75, 0x6d, 0x70, 0x79, 0x0a, 0x64, 0x74, 0x79, 0x70, 0x65,
  0x0a, 0x58, 0x02, 0x00, 0x00, 0x00, 0x69, 0x38, 0x89, 0x88, 0x87, 0x52, 0x28, 0x4b, 0x03, 0x58,
  0x01, 0x00, 0x00, 0x00, 0x3c, 0x4e, 0x4e, 0x4e, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0xff, 0xff,
  0xff, 0xff, 0x4b, 0x00, 0x74, 0x62, 0x89, 0x63, 0x5f, 0x63, 0x6f, 0x64, 0x65, 0x63, 0x73, 0x0a,
  0x65, 0x6e, 0x63, 0x6f, 0x64, 0x65, 0x0a, 0x58, 0x20, 0x00, 0x00, 0x00, 0xc3, 0xbf, 0xc3, 0xbf,
  0xc3, 0xbf, 0xc3, 0xbf, 0xc3, 0xbf, 0xc3, 0xbf, 0xc3, 0xbf, 0xc3, 0xbf, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x58, 0x06, 0x00, 0x00,
  0x00, 0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x86, 0x52, 0x74, 0x62, 0x58, 0x01, 0x00, 0x00, 0x00,
  0x73, 0x63, 0x6e, 0x75, 0x6d, 0x70, 0x79, 0x2e, 0x63, 0x6f, 0x72, 0x65, 0x2e, 0x6d, 0x75, 0x6c,
  0x74, 0x69, 0x61, 0x72, 0x72, 0x61, 0x79, 0x0a, 0x73, 0x63, 0x61, 0x6c, 0x61, 0x72, 0x0a, 0x63,
  0x6e, 0x75, 0x6d, 0x70, 0x79, 0x0a, 0x64, 0x74, 0x79, 0x70, 0x65, 0x0a, 0x58, 0x02, 0x00, 0x00,
  0x00, 0x66, 0x38, 0x89, 0x88, 0x87, 0x52, 0x28, 0x4b, 0x03, 0x58, 0x01, 0x00, 0x00, 0x00, 0x3c,
  0x4e, 0x4e, 0x4e, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4b, 0x00, 0x74,
  0x62, 0x63, 0x5f, 0x63, 0x6f, 0x64, 0x65, 0x63, 0x73, 0x0a, 0x65, 0x6e, 0x63, 0x6f, 0x64, 0x65,
  0x0a, 0x58, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc3, 0x90, 0x3f, 0x58,
  0x06, 0x00, 0x00, 0x00, 0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x86, 0x52, 0x86, 0x52, 0x75, 0x2e,
};

static const guint8 numpy_big_endian[] = {
  0x80, 0x02, 0x63, 0x6e, 0x75, 0x6d, 0x70, 0x79, 0x2e, 0x63, 0x6f, 0x72, 0x65, 0x2e, 0x6d, 0x75,
  0x6c, 0x74, 0x69, 0x61, 0x72, 0x72, 0x61, 0x79, 0x0a, 0x5f, 0x72, 0x65, 0x63, 0x6f, 0x6e, 0x73,
  0x74, 0x72, 0x75, 0x63, 0x74, 0x0a, 0x63, 0x6e, 0x75, 0x6d, 0x70, 0x79, 0x0a, 0x6e, 0x64, 0x61,
  0x72, 0x72, 0x61, 0x79, 0x0a, 0x4b, 0x00, 0x85, 0x63, 0x5f, 0x63, 0x6f, 0x64, 0x65, 0x63, 0x73,
  0x0a, 0x65, 0x6e, 0x63, 0x6f, 0x64, 0x65, 0x0a, 0x58, 0x01, 0x00, 0x00, 0x00, 0x62, 0x58, 0x06,
  0x00, 0x00, 0x00, 0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x86, 0x52, 0x87, 0x52, 0x28, 0x4b, 0x01,
  0x28, 0x4b, 0x02, 0x74, 0x63, 0x6e, 0x75, 0x6d, 0x70, 0x79, 0x0a, 0x64, 0x74, 0x79, 0x70, 0x65,
  0x0a, 0x58, 0x02, 0x00, 0x00, 0x00, 0x66, 0x34, 0x89, 0x88, 0x87, 0x52, 0x28, 0x4b, 0x03, 0x58,
  0x01, 0x00, 0x00, 0x00, 0x3e, 0x4e, 0x4e, 0x4e, 0x4a, 0xff, 0xff, 0xff, 0xff, 0x4a, 0xff, 0xff,
  0xff, 0xff, 0x4b, 0x00, 0x74, 0x62, 0x89, 0x63, 0x5f, 0x63, 0x6f, 0x64, 0x65, 0x63, 0x73, 0x0a,
  0x65, 0x6e, 0x63, 0x6f, 0x64, 0x65, 0x0a, 0x58, 0x09, 0x00, 0x00, 0x00, 0x3f, 0xc2, 0x80, 0x00,
  0x00, 0x40, 0x00, 0x00, 0x00, 0x58, 0x06, 0x00, 0x00, 0x00, 0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31,
  0x86, 0x52, 0x74, 0x62, 0x2e,
};

static const guint8 python_protocol0[] = {
  0x28, 0x64, 0x70, 0x30, 0x0a, 0x56, 0x6b, 0x65, 0x79, 0x0a, 0x70, 0x31, 0x0a, 0x49, 0x34, 0x32,
  0x0a, 0x73, 0x56, 0x6e, 0x65, 0x67, 0x0a, 0x70, 0x32, 0x0a, 0x49, 0x2d, 0x37, 0x0a, 0x73, 0x56,
  0x62, 0x69, 0x67, 0x0a, 0x70, 0x33, 0x0a, 0x4c, 0x31, 0x30, 0x39, 0x39, 0x35, 0x31, 0x31, 0x36,
  0x32, 0x37, 0x37, 0x37, 0x36, 0x4c, 0x0a, 0x73, 0x56, 0x73, 0x0a, 0x70, 0x34, 0x0a, 0x56, 0x68,
  0xe9, 0x6c, 0x6c, 0x6f, 0x0a, 0x70, 0x35, 0x0a, 0x73, 0x56, 0x66, 0x0a, 0x70, 0x36, 0x0a, 0x46,
  0x31, 0x2e, 0x35, 0x0a, 0x73, 0x56, 0x74, 0x0a, 0x70, 0x37, 0x0a, 0x49, 0x30, 0x31, 0x0a, 0x73,
  0x56, 0x6e, 0x0a, 0x70, 0x38, 0x0a, 0x4e, 0x73, 0x56, 0x6c, 0x0a, 0x70, 0x39, 0x0a, 0x28, 0x6c,
  0x70, 0x31, 0x30, 0x0a, 0x49, 0x31, 0x0a, 0x61, 0x28, 0x49, 0x32, 0x0a, 0x49, 0x33, 0x0a, 0x74,
  0x70, 0x31, 0x31, 0x0a, 0x61, 0x73, 0x56, 0x62, 0x0a, 0x70, 0x31, 0x32, 0x0a, 0x63, 0x5f, 0x63,
  0x6f, 0x64, 0x65, 0x63, 0x73, 0x0a, 0x65, 0x6e, 0x63, 0x6f, 0x64, 0x65, 0x0a, 0x70, 0x31, 0x33,
  0x0a, 0x28, 0x56, 0x5c, 0x75, 0x30, 0x30, 0x30, 0x30, 0xff, 0x0a, 0x70, 0x31, 0x34, 0x0a, 0x56,
  0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x0a, 0x70, 0x31, 0x35, 0x0a, 0x74, 0x70, 0x31, 0x36, 0x0a,
  0x52, 0x70, 0x31, 0x37, 0x0a, 0x73, 0x49, 0x33, 0x0a, 0x56, 0x74, 0x68, 0x72, 0x65, 0x65, 0x0a,
  0x70, 0x31, 0x38, 0x0a, 0x73, 0x2e,
};

static const guint8 python_protocol5[] = {
  0x80, 0x05, 0x95, 0x93, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7d, 0x94, 0x28, 0x8c, 0x03,
  0x6b, 0x65, 0x79, 0x94, 0x4b, 0x2a, 0x8c, 0x03, 0x6e, 0x65, 0x67, 0x94, 0x4a, 0xf9, 0xff, 0xff,
  0xff, 0x8c, 0x03, 0x62, 0x69, 0x67, 0x94, 0x8a, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x8c,
  0x01, 0x73, 0x94, 0x8c, 0x06, 0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f, 0x94, 0x8c, 0x01, 0x66, 0x94,
  0x47, 0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8c, 0x01, 0x74, 0x94, 0x88, 0x8c, 0x01,
  0x6e, 0x94, 0x4e, 0x8c, 0x01, 0x6c, 0x94, 0x5d, 0x94, 0x28, 0x4b, 0x01, 0x4b, 0x02, 0x4b, 0x03,
  0x86, 0x94, 0x65, 0x8c, 0x01, 0x62, 0x94, 0x43, 0x02, 0x00, 0xff, 0x94, 0x4b, 0x03, 0x8c, 0x05,
  0x74, 0x68, 0x72, 0x65, 0x65, 0x94, 0x8c, 0x03, 0x73, 0x65, 0x74, 0x94, 0x8f, 0x94, 0x28, 0x4b,
  0x05, 0x90, 0x8c, 0x02, 0x66, 0x73, 0x94, 0x28, 0x4b, 0x06, 0x91, 0x94, 0x8c, 0x02, 0x62, 0x61,
  0x94, 0x96, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x94, 0x75, 0x2e,
};


typedef struct
{
  gsize size;   /* bytes every storage gets */
  guint calls;  /* load_storage calls */
} TestStorages;

static GBytes *
test_storage (const gchar *key,
              gpointer     user_data,
              GError     **error)
{
  TestStorages *storages = user_data;
  (void) error;
  (void) key;
  storages->calls++;
  guint8 *data = g_malloc0 (storages->size + 1);
  for (gsize i = 0; i < storages->size; i++)
    data[i] = (guint8) i;
  return g_bytes_new_take (data, storages->size);
}

static GillValue *
load_with (const void   *data,
           gsize         len,
           TestStorages *storages,
           GError      **error)
{
  GillPickleOptions options = { "test.pkl", storages ? test_storage : NULL, storages, TRUE };
  return gill_pickle_load (data, len, &options, error);
}

static GillValue *
load (const void *data,
      gsize       len,
      GError    **error)
{
  return load_with (data, len, NULL, error);
}

/* string literal without its terminating NUL */
#define LOAD(literal, error) load (literal, sizeof (literal) - 1, error)

static gchar *
to_json (const GillValue *value)
{
  g_autoptr (JsonNode) node = gill_value_to_json (value);
  return json_to_string (node, FALSE);
}

static void
assert_fails (const void  *data,
              gsize        len,
              GillError    code,
              const gchar *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GillValue) value = load (data, len, &error);
  g_assert_null (value);
  g_assert_error (error, GILL_ERROR, (gint) code);
  g_assert_true (g_str_has_prefix (error->message, "test.pkl: "));
  if (strstr (error->message, needle) == NULL)
    g_error ("message '%s' does not contain '%s'", error->message, needle);
}

#define ASSERT_FAILS(literal, code, needle) assert_fails (literal, sizeof (literal) - 1, code, needle)

/* ------------------------------------------------------------------------------------------ */
/* refusals and corrupt input */

static void
test_refuse_os_system (void)
{
  ASSERT_FAILS (P2 "cos\nsystem\nq\x00" BINUNICODE ("\x02", "ls") "\x85R.", GILL_ERROR_UNSUPPORTED,
                "the pickle calls 'os.system', which gill refuses to run");
  ASSERT_FAILS (P2 "cposix\nsystem\n" BINUNICODE ("\x02", "ls") "\x85R.", GILL_ERROR_UNSUPPORTED,
                "'posix.system'");
  ASSERT_FAILS ("c__builtin__\neval\n(S'1'\ntR.", GILL_ERROR_UNSUPPORTED, "'__builtin__.eval'");
  /* INST: protocol 0's class call */
  ASSERT_FAILS ("(S'ls'\nios\nsystem\n.", GILL_ERROR_UNSUPPORTED, "'os.system'");
}

static void
test_refuse_stack_global (void)
{
  /* protocol 4: STACK_GLOBAL builtins.eval, called with ('1',) */
  ASSERT_FAILS ("\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00\x8c\x08" "builtins" "\x94\x8c\x04"
                "eval" "\x94\x93\x94\x8c\x01" "1" "\x85R.",
                GILL_ERROR_UNSUPPORTED, "the pickle calls 'builtins.eval'");
  ASSERT_FAILS ("\x80\x04" "K\x01\x8c\x04" "eval\x93.", GILL_ERROR_FORMAT, "STACK_GLOBAL");
}

static void
test_refuse_numpy_without_option (void)
{
  g_autoptr (GError) error = NULL;
  GillPickleOptions options = { "test.pkl", NULL, NULL, FALSE };
  g_autoptr (GillValue) value = gill_pickle_load (numpy_protocol2, sizeof numpy_protocol2,
                                                  &options, &error);
  g_assert_null (value);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "'numpy.core.multiarray._reconstruct'"));
}

static void
test_unknown_opcode (void)
{
  ASSERT_FAILS (P2 "N\xff.", GILL_ERROR_FORMAT, "unknown pickle opcode 0xff at offset 3");
  ASSERT_FAILS ("\x80\x06N.", GILL_ERROR_UNSUPPORTED, "protocol 6");
  ASSERT_FAILS (P2 "\x97.", GILL_ERROR_UNSUPPORTED, "out-of-band");
  ASSERT_FAILS (P2 "\x82\x01.", GILL_ERROR_UNSUPPORTED, "extension registry");
  ASSERT_FAILS (P2 "P0\n.", GILL_ERROR_UNSUPPORTED, "text persistent id");
}

static void
test_truncated (void)
{
  ASSERT_FAILS (P2 "X\x10\x00\x00\x00" "abc", GILL_ERROR_FORMAT, "truncated");
  ASSERT_FAILS (P2 "N", GILL_ERROR_FORMAT, "without a STOP opcode");
  ASSERT_FAILS (P2 "cos\nsys", GILL_ERROR_FORMAT, "no end of line");
  ASSERT_FAILS (P2 "\x8e\xff\xff\xff\xff\xff\xff\xff\xff", GILL_ERROR_FORMAT, "truncated");
  ASSERT_FAILS ("", GILL_ERROR_FORMAT, "without a STOP opcode");
  ASSERT_FAILS (P2 ".", GILL_ERROR_FORMAT, "needs 1 values on the stack");
  /* every prefix of a real pickle fails cleanly */
  for (gsize n = 0; n < sizeof python_protocol5 - 1; n++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GillValue) value = load (python_protocol5, n, &error);
      g_assert_null (value);
      g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
    }
}

static void
test_deep_nesting (void)
{
  g_autoptr (GString) marks = g_string_new (P2);
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (marks, '(');
  g_string_append_c (marks, '.');
  assert_fails (marks->str, marks->len, GILL_ERROR_FORMAT, "MARKs");

  g_autoptr (GString) lists = g_string_new (P2);
  for (guint i = 0; i < 100000; i++)
    g_string_append_c (lists, ']');
  g_string_append_c (lists, '.');
  assert_fails (lists->str, lists->len, GILL_ERROR_FORMAT, "stacks more than");

  /* lists nested 5,000 deep with a shallow stack: new list, append the previous one from the
   * memo, memoise the new one, pop it */
  g_autoptr (GString) nested = g_string_new (NULL);
  g_string_append_len (nested, P2 "]q\x00" "0", 6);
  for (guint i = 0; i < 5000; i++)
    g_string_append_len (nested, "]h\x00" "aq\x00" "0", 7);
  g_string_append_len (nested, "h\x00.", 3);
  assert_fails (nested->str, nested->len, GILL_ERROR_FORMAT, "nests containers more than 1000 deep");

  /* ... while 500 deep loads */
  g_autoptr (GString) fine = g_string_new (NULL);
  g_string_append_len (fine, P2 "]q\x00" "0", 6);
  for (guint i = 0; i < 500; i++)
    g_string_append_len (fine, "]h\x00" "aq\x00" "0", 7);
  g_string_append_len (fine, "h\x00.", 3);
  g_autoptr (GError) error = NULL;
  g_autoptr (GillValue) value = load (fine->str, fine->len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (value->kind, ==, GILL_VALUE_LIST);
}

static void
test_memo_limits (void)
{
  ASSERT_FAILS (P2 "Nr\x00\x00\x00\x80.", GILL_ERROR_FORMAT, "memo index 2147483648");
  ASSERT_FAILS (P2 "h\x05.", GILL_ERROR_FORMAT, "memo index 5 at offset 2 is not set");
  ASSERT_FAILS (P2 "Nq\x00j\x00\x00\x00\x80.", GILL_ERROR_FORMAT, "memo index 2147483648");
  ASSERT_FAILS (P2 "q\x00.", GILL_ERROR_FORMAT, "needs 1 values");
}

static void
test_cycles_and_blowup (void)
{
  /* a list holding itself: l = []; l.append(l) */
  ASSERT_FAILS (P2 "]q\x00h\x00" "a.", GILL_ERROR_UNSUPPORTED, "contains itself");
  ASSERT_FAILS (P2 "]2a.", GILL_ERROR_UNSUPPORTED, "contains itself");
  ASSERT_FAILS (P2 "}q\x00K\x01h\x00s.", GILL_ERROR_UNSUPPORTED, "contains itself");
  /* a = []; b = [a]; a.append(b) */
  ASSERT_FAILS (P2 "]q\x00]q\x01h\x00" "a0h\x00h\x01" "a.", GILL_ERROR_UNSUPPORTED, "contains itself");

  /* t = (); t = (t, t) 60 times: 2^60 values when expanded */
  g_autoptr (GString) dag = g_string_new (P2 ")");
  for (guint i = 0; i < 60; i++)
    g_string_append (dag, "2\x86");
  g_string_append_c (dag, '.');
  assert_fails (dag->str, dag->len, GILL_ERROR_FORMAT, "expand to more than");

  /* b = 200 bytes; (b, b), ((b, b), (b, b)), ... : few values, but a JSON of 200 ints each */
  g_autoptr (GString) shared_bytes = g_string_new (NULL);
  g_string_append_len (shared_bytes, P2 "C\xc8", 4);
  for (guint i = 0; i < 200; i++)
    g_string_append_c (shared_bytes, 'b');
  for (guint i = 0; i < 12; i++)
    g_string_append (shared_bytes, "2\x86");
  g_string_append_c (shared_bytes, '.');
  assert_fails (shared_bytes->str, shared_bytes->len, GILL_ERROR_FORMAT, "expand to more than");
}

static void
test_wide_integers (void)
{
  ASSERT_FAILS (P2 "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.", GILL_ERROR_UNSUPPORTED, "wider than 64 bits");
  ASSERT_FAILS ("L99999999999999999999999L\n.", GILL_ERROR_UNSUPPORTED, "wider than 64 bits");
  ASSERT_FAILS ("Ixyz\n.", GILL_ERROR_FORMAT, "malformed number");

  g_autoptr (GError) error = NULL;
  /* 2^63 - 1 in 8 bytes, -2^63 in 9 (redundant sign byte), -1 in 1 */
  g_autoptr (GillValue) value = LOAD (P2 "(\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f"
                                      "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\xff"
                                      "\x8a\x01\xff" "\x8a\x00" "J\xfe\xff\xff\xff" "M\xff\xff" "l.", &error);
  g_assert_no_error (error);
  g_autofree gchar *json = to_json (value);
  g_assert_cmpstr (json, ==, "[9223372036854775807,-9223372036854775808,-1,0,-2,65535]");
}

static void
test_storage_checks (void)
{
  TestStorages storages = { 16, 0 };
  g_autoptr (GError) error = NULL;

  /* numel 100 f32 = 400 bytes, but the storage has 16 */
  static const char too_short[] = P2 REBUILD_1D (FLOAT_STORAGE ("0", "d"), "\x00", "\x02", "\x01") ".";
  g_autoptr (GillValue) v1 = load_with (too_short, sizeof too_short - 1, &storages, &error);
  g_assert_null (v1);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
  g_assert_true (g_str_has_prefix (error->message, "test.pkl: storage '0' should hold 100 f32 elements"));
  g_clear_error (&error);

  /* 4 elements; offset 2 + 3 elements reaches element 4 */
  static const char outside[] = P2 REBUILD_1D (FLOAT_STORAGE ("0", "\x04"), "\x02", "\x03", "\x01") ".";
  g_autoptr (GillValue) v2 = load_with (outside, sizeof outside - 1, &storages, &error);
  g_assert_null (v2);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "test.pkl: a tensor of shape [3], strides [1] and storage offset 2 "
                                            "reaches past the end of storage '0' (4 elements)"));
  g_clear_error (&error);

  /* stride 0 repeats elements (torch's expand), but not 2^30 times over 4 elements */
  static const char huge[] = P2 "ctorch._utils\n_rebuild_tensor_v2\n(" FLOAT_STORAGE ("0", "\x04") "K\x00"
    "J\x00\x00\x00\x40\x85" "K\x00\x85" "\x89" "ccollections\nOrderedDict\n)R" "tR.";
  g_autoptr (GillValue) v4 = load_with (huge, sizeof huge - 1, &storages, &error);
  g_assert_null (v4);
  g_assert_error (error, GILL_ERROR, GILL_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "more than 64 times over"));
  g_clear_error (&error);

  /* ... while offset 1 fits, as a view into the storage bytes */
  static const char inside[] = P2 REBUILD_1D (FLOAT_STORAGE ("0", "\x04"), "\x01", "\x03", "\x01") ".";
  g_autoptr (GillValue) v3 = load_with (inside, sizeof inside - 1, &storages, &error);
  g_assert_no_error (error);
  g_assert_cmpint (v3->kind, ==, GILL_VALUE_TENSOR);
  g_assert_cmpint (v3->tensor->shape[0], ==, 3);
  g_assert_cmpint (v3->tensor->data[0], ==, 4);

  /* no storage callback: plain pickles of torch tensors are refused with advice */
  ASSERT_FAILS (P2 REBUILD_1D (FLOAT_STORAGE ("0", "\x04"), "\x01", "\x03", "\x01") ".",
                GILL_ERROR_UNSUPPORTED, "without torch.save's zip container");
  ASSERT_FAILS (P2 "ctorch.storage\n_load_from_bytes\nC\x01x\x85R.",
                GILL_ERROR_UNSUPPORTED, "without torch.save's zip container");
}

static void
test_shared_storage (void)
{
  TestStorages storages = { 64, 0 };
  g_autoptr (GError) error = NULL;
  /* {'a': tensor over storage '7' at 0, 'b': over '7' at 2, 'c': over '8'} */
  static const char shared[] = P2 "}("
    BINUNICODE ("\x01", "a") REBUILD_1D (FLOAT_STORAGE ("7", "\x10"), "\x00", "\x04", "\x01")
    BINUNICODE ("\x01", "b") REBUILD_1D (FLOAT_STORAGE ("7", "\x10"), "\x02", "\x02", "\x02")
    BINUNICODE ("\x01", "c") REBUILD_1D (FLOAT_STORAGE ("8", "\x10"), "\x00", "\x04", "\x01") "u.";
  g_autoptr (GillValue) dict = load_with (shared, sizeof shared - 1, &storages, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (storages.calls, ==, 2);
  GillTensor *a = gill_value_dict_get (dict, "a")->tensor, *b = gill_value_dict_get (dict, "b")->tensor;
  GillTensor *c = gill_value_dict_get (dict, "c")->tensor;
  g_assert_true (a->owner == b->owner);
  g_assert_true (a->owner != c->owner);
  g_assert_true (b->data == a->data + 8);
  g_assert_cmpint (b->strides[0], ==, 2);
}

/* ------------------------------------------------------------------------------------------ */
/* what loads */

static void
test_protocol0 (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GillValue) value = load (python_protocol0, sizeof python_protocol0, &error);
  g_assert_no_error (error);
  g_autofree gchar *json = to_json (value);
  g_assert_cmpstr (json, ==, "{\"key\":42,\"neg\":-7,\"big\":1099511627776,\"s\":\"h\xc3\xa9llo\",\"f\":1.5,"
                             "\"t\":true,\"n\":null,\"l\":[1,[2,3]],\"b\":[0,255],\"3\":\"three\"}");
  /* int keys are found by number */
  g_autofree gchar *three = gill_value_string_dup (gill_value_lookup_path (value, "3"));
  g_assert_cmpstr (three, ==, "three");
  g_assert_cmpint (gill_value_lookup_path (value, "l/1/0")->integer, ==, 2);
  g_assert_null (gill_value_lookup_path (value, "l/2"));
  g_assert_null (gill_value_lookup_path (value, "l/-1"));
  g_assert_null (gill_value_lookup_path (value, "key/0"));
  g_assert_true (gill_value_lookup_path (value, "") == value);
}

static void
test_protocol5 (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = g_bytes_new_static (python_protocol5, sizeof python_protocol5);
  GillPickleOptions options = { "p5.pkl", NULL, NULL, FALSE };
  g_autoptr (GillValue) value = gill_pickle_load_bytes (bytes, &options, &error);
  g_assert_no_error (error);
  g_autofree gchar *json = to_json (value);
  g_assert_cmpstr (json, ==, "{\"key\":42,\"neg\":-7,\"big\":1099511627776,\"s\":\"h\xc3\xa9llo\",\"f\":1.5,"
                             "\"t\":true,\"n\":null,\"l\":[1,[2,3]],\"b\":[0,255],\"3\":\"three\","
                             "\"set\":[5],\"fs\":[6],\"ba\":[1]}");
  /* bytes are views into the input when loaded from a GBytes */
  gsize len;
  const guint8 *b = g_bytes_get_data (gill_value_dict_get (value, "b")->bytes, &len);
  g_assert_cmpuint (len, ==, 2);
  g_assert_true (b > python_protocol5 && b < python_protocol5 + sizeof python_protocol5);
}

static void
test_numpy (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GillValue) value = load (numpy_protocol2, sizeof numpy_protocol2, &error);
  g_assert_no_error (error);

  float c[6], f[6];
  gint64 i[3];
  GillTensor *tc = gill_value_dict_get (value, "c")->tensor, *tf = gill_value_dict_get (value, "f")->tensor;
  g_assert_true (gill_tensor_has_shape (tc, 2, (gint64[]) { 2, 3 }));
  gill_tensor_copy_f32 (tc, c);
  gill_tensor_copy_f32 (tf, f);
  gill_tensor_copy_i64 (gill_value_dict_get (value, "i")->tensor, i);
  /* C order [[0 1 2] [3 4 5]]; Fortran order [[0 2 4] [1 3 5]] */
  for (gint k = 0; k < 6; k++)
    g_assert_cmpfloat (c[k], ==, k);
  static const float fortran[] = { 0, 2, 4, 1, 3, 5 };
  for (gint k = 0; k < 6; k++)
    g_assert_cmpfloat (f[k], ==, fortran[k]);
  g_assert_cmpint (i[0], ==, -1);
  g_assert_cmpint (i[2], ==, 7);
  g_assert_cmpfloat (gill_value_dict_get (value, "s")->real, ==, 0.25);

  ASSERT_FAILS (numpy_big_endian, GILL_ERROR_UNSUPPORTED, "big-endian");
}

static void
test_json_forms (void)
{
  g_autoptr (GillValue) dict = gill_value_new_dict ();
  g_autoptr (GillValue) key_none = gill_value_new_none (), key_true = gill_value_new_bool (TRUE);
  g_autoptr (GillValue) key_one = gill_value_new_int (1), key_float = gill_value_new_float (1.0);
  g_autoptr (GillValue) nan = gill_value_new_float (NAN), two = gill_value_new_int (2);
  g_autoptr (GillTensor) tensor = gill_tensor_new_f32 (2, (gint64[]) { 3, 0 });
  g_autoptr (GillValue) tensor_value = gill_value_new_tensor (tensor);

  gill_value_dict_set (dict, key_none, nan);
  /* True == 1 == 1.0: one key, the first one kept, the last value */
  gill_value_dict_set (dict, key_true, two);
  gill_value_dict_set (dict, key_one, tensor_value);
  gill_value_dict_set (dict, key_float, key_one);
  g_autofree gchar *json = to_json (dict);
  g_assert_cmpstr (json, ==, "{\"None\":null,\"True\":1}");
  g_assert_true (gill_value_dict_find (dict, key_float) == key_one);
  g_assert_cmpstr (gill_value_kind_name (GILL_VALUE_TUPLE), ==, "tuple");

  g_autoptr (GillValue) list = gill_value_new_list ();
  gill_value_append (list, tensor_value);
  g_autofree gchar *json2 = to_json (list);
  g_assert_cmpstr (json2, ==, "[{\"tensor\":\"f32\",\"shape\":[3,0]}]");
}

static void
test_big_dict (void)
{
  /* enough keys for the hash index; replacing keeps order and count */
  g_autoptr (GillValue) dict = gill_value_new_dict ();
  for (gint round = 0; round < 2; round++)
    for (gint k = 0; k < 1000; k++)
      {
        g_autofree gchar *name = g_strdup_printf ("k%d", k);
        g_autoptr (GillValue) key = gill_value_new_string (name, -1);
        g_autoptr (GillValue) value = gill_value_new_int (k + round);
        gill_value_dict_set (dict, key, value);
      }
  g_assert_cmpuint (dict->items->len, ==, 2000);
  g_assert_cmpint (gill_value_dict_get (dict, "k999")->integer, ==, 1000);
  g_autofree gchar *first = gill_value_string_dup (g_ptr_array_index (dict->items, 0));
  g_assert_cmpstr (first, ==, "k0");
}

/* ------------------------------------------------------------------------------------------ */
/* torch checkpoints from the fixtures */

static gchar *
fixture (const gchar *relative)
{
  const gchar *root = g_getenv ("GILL_FIXTURES");
  if (root == NULL)
    return NULL;
  return g_build_filename (root, relative, NULL);
}

#define FIXTURE_OR_SKIP(var, relative)                               \
  g_autofree gchar *var = fixture (relative);                       \
  if (var == NULL || !g_file_test (var, G_FILE_TEST_EXISTS))        \
    {                                                               \
      g_test_skip ("GILL_FIXTURES not set or fixture missing");     \
      return;                                                       \
    }

/* expected values are float32 or int64 tensors in golden.safetensors; compare exactly */
static void
assert_tensor_equals (const GillTensor *actual,
                      const GillTensor *expected,
                      const gchar      *name)
{
  gint64 n = gill_tensor_numel (expected);
  if (gill_tensor_numel (actual) != n)
    g_error ("%s: %" G_GINT64_FORMAT " elements, expected %" G_GINT64_FORMAT, name,
             gill_tensor_numel (actual), n);
  if (expected->dtype == GILL_DTYPE_I64)
    {
      g_autofree gint64 *a = g_new0 (gint64, MAX (n, 1)), *e = g_new0 (gint64, MAX (n, 1));
      gill_tensor_copy_i64 (actual, a);
      gill_tensor_copy_i64 (expected, e);
      g_assert_cmpmem (a, n * 8, e, n * 8);
      return;
    }
  g_autofree float *a = g_new0 (float, MAX (n, 1)), *e = g_new0 (float, MAX (n, 1));
  gill_tensor_copy_f32 (actual, a);
  gill_tensor_copy_f32 (expected, e);
  g_assert_cmpmem (a, n * 4, e, n * 4);
}

static void
test_torch_cases (void)
{
  FIXTURE_OR_SKIP (cases_path, "io/cases.json");
  g_autofree gchar *golden_path = fixture ("io/golden.safetensors");
  g_autofree gchar *pth = fixture ("io/tensors.pth");
  g_autoptr (GError) error = NULL;
  g_autoptr (GillTensorList) golden = gill_safetensors_open (golden_path, &error);
  g_assert_no_error (error);
  g_autoptr (GillValue) root = gill_torch_load (pth, &error);
  g_assert_no_error (error);
  g_autoptr (JsonParser) parser = json_parser_new ();
  json_parser_load_from_file (parser, cases_path, &error);
  g_assert_no_error (error);

  JsonArray *cases = json_node_get_array (json_parser_get_root (parser));
  guint checked = 0;
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      JsonObject *inputs = json_object_get_object_member (c, "inputs");
      const gchar *kind = json_object_get_string_member (c, "kind");
      if (!g_str_equal (kind, "io.tensor") && !g_str_equal (kind, "io.value"))
        continue;
      const gchar *file = json_object_get_string_member (json_object_get_object_member (inputs, "file"), "str");
      const gchar *key = json_object_get_string_member (json_object_get_object_member (inputs, "key"), "str");
      JsonNode *expected = json_object_get_member (json_object_get_object_member (c, "expected"), "value");
      if (!g_str_equal (file, "tensors.pth"))
        continue;
      GillValue *value = gill_value_lookup_path (root, key);
      if (value == NULL)
        g_error ("%s: no value at '%s'", json_object_get_string_member (c, "name"), key);
      if (g_str_equal (kind, "io.tensor"))
        {
          g_assert_cmpint (value->kind, ==, GILL_VALUE_TENSOR);
          GillTensor *want = gill_tensor_list_find (golden, json_node_get_string (expected));
          g_assert_nonnull (want);
          assert_tensor_equals (value->tensor, want, key);
        }
      else
        {
          g_autoptr (JsonNode) actual = gill_value_to_json (value);
          JsonNode *want = json_object_get_member (json_node_get_object (expected), "json");
          g_autofree gchar *a = json_to_string (actual, FALSE), *e = json_to_string (want, FALSE);
          g_assert_cmpstr (a, ==, e);
        }
      checked++;
    }
  g_assert_cmpuint (checked, ==, 24);
}

static void
test_torch_views (void)
{
  FIXTURE_OR_SKIP (pth, "io/tensors.pth");
  g_autoptr (GError) error = NULL;
  g_autoptr (GillTensorList) list = gill_torch_open (pth, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (list->format, ==, "pytorch-zip");

  GillTensor *transposed = gill_tensor_list_find (list, "view_transposed");
  GillTensor *offset = gill_tensor_list_find (list, "view_offset");
  GillTensor *step = gill_tensor_list_find (list, "view_step");
  GillTensor *a = gill_tensor_list_find (list, "tied_a"), *b = gill_tensor_list_find (list, "tied_b");
  GillTensor *row = gill_tensor_list_find (list, "tied_row");
  GillTensor *scalar = gill_tensor_list_find (list, "scalar"), *empty = gill_tensor_list_find (list, "empty");
  g_assert_cmpint (transposed->strides[0], ==, 1);
  g_assert_cmpint (transposed->strides[1], ==, 5);
  g_assert_cmpint (offset->strides[0], ==, 5);
  g_assert_cmpint (step->strides[0], ==, 10);
  g_assert_cmpint (step->strides[1], ==, 2);
  g_assert_true (offset->data == (const guint8 *) g_bytes_get_data (offset->owner, NULL) + 11 * 4);
  /* tied weights: one storage, the same bytes, a row view 3 elements in */
  g_assert_true (a->owner == b->owner && a->owner == row->owner);
  g_assert_true (a->data == b->data);
  g_assert_true (row->data == a->data + 3 * 4);
  g_assert_cmpint (scalar->n_dims, ==, 0);
  g_assert_true (gill_tensor_has_shape (empty, 2, (gint64[]) { 0, 4 }));
  /* nested state_dict tensors are collected under their own names */
  g_assert_nonnull (gill_tensor_list_find (list, "layer.weight"));
  g_assert_cmpint (gill_tensor_list_find (list, "layer.weight")->dtype, ==, GILL_DTYPE_BF16);
  g_assert_cmpint (gill_tensor_list_find (list, "bf16")->dtype, ==, GILL_DTYPE_BF16);
}

static void
test_torch_tiny_opt (void)
{
  static const gchar *const styles[] = { "opt350m_style", "opt6.7b_style" };
  for (guint s = 0; s < G_N_ELEMENTS (styles); s++)
    {
      g_autofree gchar *rel = g_build_filename ("tiny-opt", styles[s], "pytorch_model.bin", NULL);
      g_autofree gchar *rel_st = g_build_filename ("tiny-opt", styles[s], "model.safetensors", NULL);
      FIXTURE_OR_SKIP (bin, rel);
      g_autofree gchar *st = fixture (rel_st);
      g_autoptr (GError) error = NULL;
      g_autoptr (GillTensorList) list = gill_torch_open (bin, &error);
      g_assert_no_error (error);
      GillTensor *lm_head = gill_tensor_list_find (list, "lm_head.weight");
      GillTensor *embed = gill_tensor_list_find (list, "model.decoder.embed_tokens.weight");
      g_assert_nonnull (lm_head);
      g_assert_nonnull (embed);
      /* tied: the same bytes of the same mapping */
      g_assert_true (lm_head->data == embed->data);
      g_assert_true (lm_head->owner == embed->owner);
      g_assert_cmpint (embed->shape[0], ==, 50272);
      /* every tensor equals the safetensors export of the same model */
      g_autoptr (GillTensorList) reference = gill_safetensors_open (st, &error);
      g_assert_no_error (error);
      guint compared = 0;
      for (guint i = 0; i < reference->names->len; i++)
        {
          const gchar *name = g_ptr_array_index (reference->names, i);
          GillTensor *mine = gill_tensor_list_find (list, name);
          if (mine == NULL)
            g_error ("%s: no tensor '%s'", bin, name);
          assert_tensor_equals (mine, g_ptr_array_index (reference->tensors, i), name);
          compared++;
        }
      g_assert_cmpuint (compared, >=, list->names->len - 1);
    }
}

static void
test_torch_fp16_shards (void)
{
  FIXTURE_OR_SKIP (index_path, "io/opt-fp16-bin-shards/pytorch_model.bin.index.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  json_parser_load_from_file (parser, index_path, &error);
  g_assert_no_error (error);
  JsonObject *map = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "weight_map");
  g_autoptr (GList) names = json_object_get_members (map);
  g_autoptr (GHashTable) shards = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                         (GDestroyNotify) gill_tensor_list_free);
  for (GList *l = names; l; l = l->next)
    {
      const gchar *shard = json_object_get_string_member (map, l->data);
      GillTensorList *list = g_hash_table_lookup (shards, shard);
      if (list == NULL)
        {
          g_autofree gchar *rel = g_build_filename ("io/opt-fp16-bin-shards", shard, NULL);
          g_autofree gchar *path = fixture (rel);
          list = gill_torch_open (path, &error);
          g_assert_no_error (error);
          g_hash_table_insert (shards, (gpointer) shard, list);
        }
      GillTensor *tensor = gill_tensor_list_find (list, l->data);
      g_assert_nonnull (tensor);
      g_assert_cmpint (tensor->dtype, ==, GILL_DTYPE_F16);
    }
  g_assert_cmpuint (g_hash_table_size (shards), ==, 2);
}

static void
test_torch_gill_checkpoints (void)
{
  FIXTURE_OR_SKIP (pretrained, "tiny-gill/pretrained_ckpt.pth.tar");
  g_autofree gchar *decision = fixture ("tiny-gill/decision_model.pth.tar");
  g_autofree gchar *real = fixture ("tiny-gill/real_gill_decision_model/decision_model.pth.tar");
  g_autoptr (GError) error = NULL;

  g_autoptr (GillValue) ckpt = gill_torch_load (pretrained, &error);
  g_assert_no_error (error);
  GillValue *state = gill_value_lookup_path (ckpt, "state_dict");
  g_assert_nonnull (state);
  g_assert_cmpuint (state->items->len / 2, ==, 137);
  GillValue *rows = gill_value_lookup_path (ckpt, "state_dict/model.input_embeddings.weight");
  g_assert_nonnull (rows);
  g_assert_cmpint (rows->tensor->shape[0], ==, 8);

  g_autoptr (GillTensorList) tiny = gill_torch_open (decision, &error);
  g_assert_no_error (error);
  g_assert_true (gill_tensor_has_shape (gill_tensor_list_find (tiny, "1.weight"), 2, (gint64[]) { 2, 48 }));

  /* the released head: saved from cuda:0, 4096 wide, followed by BUILD {'_metadata': ...} */
  g_autoptr (GillTensorList) head = gill_torch_open (real, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (head->names->len, ==, 2);
  GillTensor *weight = gill_tensor_list_find (head, "1.weight"), *bias = gill_tensor_list_find (head, "1.bias");
  g_assert_true (gill_tensor_has_shape (weight, 2, (gint64[]) { 2, 4096 }));
  g_assert_true (gill_tensor_has_shape (bias, 1, (gint64[]) { 2 }));
  g_assert_cmpint (weight->dtype, ==, GILL_DTYPE_F32);
}

static void
test_torch_cc3m_pickle (void)
{
  FIXTURE_OR_SKIP (path, "tiny-gill/cc3m_embeddings_urls.npy");
  g_autoptr (GError) error = NULL;
  g_autoptr (GillValue) root = gill_torch_load (path, &error);
  g_assert_no_error (error);
  GillValue *paths = gill_value_lookup_path (root, "paths");
  GillValue *embeddings = gill_value_lookup_path (root, "embeddings");
  g_assert_cmpint (paths->kind, ==, GILL_VALUE_LIST);
  g_assert_cmpint (embeddings->kind, ==, GILL_VALUE_LIST);
  g_assert_cmpuint (paths->items->len, ==, 8);
  g_assert_cmpuint (embeddings->items->len, ==, 8);
  g_autofree gchar *first = gill_value_string_dup (gill_value_lookup_path (root, "paths/0"));
  g_assert_cmpstr (first, ==, "images/ret0.png");
  GillValue *e7 = gill_value_lookup_path (root, "embeddings/7");
  g_assert_cmpint (e7->kind, ==, GILL_VALUE_TENSOR);
  g_assert_cmpint (e7->tensor->dtype, ==, GILL_DTYPE_F32);
  g_assert_true (gill_tensor_has_shape (e7->tensor, 1, (gint64[]) { 24 }));
  float v[24];
  gill_tensor_copy_f32 (e7->tensor, v);
  g_assert_cmpfloat (v[0], ==, 0.4662436842918396);
  g_assert_cmpfloat (v[23], ==, 2.0398108959198);
  /* a plain pickle: no tensors are collected from lists */
  g_autoptr (GillTensorList) list = gill_torch_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (list->format, ==, "pickle");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pickle/refuse-os-system", test_refuse_os_system);
  g_test_add_func ("/pickle/refuse-stack-global", test_refuse_stack_global);
  g_test_add_func ("/pickle/refuse-numpy-without-option", test_refuse_numpy_without_option);
  g_test_add_func ("/pickle/unknown-opcode", test_unknown_opcode);
  g_test_add_func ("/pickle/truncated", test_truncated);
  g_test_add_func ("/pickle/deep-nesting", test_deep_nesting);
  g_test_add_func ("/pickle/memo-limits", test_memo_limits);
  g_test_add_func ("/pickle/cycles-and-blowup", test_cycles_and_blowup);
  g_test_add_func ("/pickle/wide-integers", test_wide_integers);
  g_test_add_func ("/pickle/storage-checks", test_storage_checks);
  g_test_add_func ("/pickle/shared-storage", test_shared_storage);
  g_test_add_func ("/pickle/protocol0", test_protocol0);
  g_test_add_func ("/pickle/protocol5", test_protocol5);
  g_test_add_func ("/pickle/numpy", test_numpy);
  g_test_add_func ("/pickle/json-forms", test_json_forms);
  g_test_add_func ("/pickle/big-dict", test_big_dict);
  g_test_add_func ("/torch/fixture-cases", test_torch_cases);
  g_test_add_func ("/torch/views", test_torch_views);
  g_test_add_func ("/torch/tiny-opt", test_torch_tiny_opt);
  g_test_add_func ("/torch/fp16-shards", test_torch_fp16_shards);
  g_test_add_func ("/torch/gill-checkpoints", test_torch_gill_checkpoints);
  g_test_add_func ("/torch/cc3m-pickle", test_torch_cc3m_pickle);
  return g_test_run ();
}
