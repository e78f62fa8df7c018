/* error.c — the GILL_ERROR quark. */
#include "core/base/error.h"

G_DEFINE_QUARK (gill-error-quark, gill_error)
