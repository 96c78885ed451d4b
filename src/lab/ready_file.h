// --ready-file: a server writes the address it bound once it is listening,
// so tests and the journey wait on the file (or a FIFO) instead of sleeping.
#pragma once

#include <string>

#include "lab/transport.h"
#include "util/result.h"

namespace tpk::lab {

// Writes text + "\n" to path. A FIFO gets one write (its reader, which must
// already have it open, wakes up); anything else is replaced atomically
// (write a temporary file, rename) so a reader never sees half a line. The
// returned owner removes the regular file again when the server goes away.
Result<UnixPathOwner> write_ready_file(const std::string& path, const std::string& text);

}  // namespace tpk::lab
