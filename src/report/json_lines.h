// The journey as JSON Lines (docs/json-schema.md): connection, route,
// syscall, state, packet and frame records, then one summary record last.
// Every record carries "schema_version".
#pragma once

#include <ostream>

#include "journey/journey.h"

namespace tpk::report {

void write_journey_json(const journey::Journey& j, std::ostream& out);

}  // namespace tpk::report
