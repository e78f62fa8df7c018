/* tokenize.h — `gill tokenize`: run the OPT or the CLIP tokenizer on a text, or decode ids. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

int gill_cmd_tokenize (int argc, char **argv);

G_END_DECLS
