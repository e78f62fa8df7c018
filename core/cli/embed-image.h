/* embed-image.h — `gill embed-image`: CLIP image embeddings of image files. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

int gill_cmd_embed_image (int argc, char **argv);

G_END_DECLS
