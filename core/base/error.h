/* error.h — the GILL_ERROR domain shared by the library, the CLI and the plug-in.
 *
 * The enum itself is public (core/gill.h); this internal header only re-exports it so rooms
 * below core/gill include base, never the public header's other declarations. */
#pragma once

#include "core/gill.h"
