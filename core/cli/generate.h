/* generate.h — `gill generate`: text to image with Stable Diffusion. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

int gill_cmd_generate (int argc, char **argv);

G_END_DECLS
