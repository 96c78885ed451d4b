// Events as JSON Lines: the format of recorded fixtures (--record-raw) that
// the correlator's tests replay without privileges. One object per line.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "model/event.h"
#include "util/result.h"

namespace tpk::model {

std::string event_to_json_line(const Event& e);   // no trailing newline
Result<Event> event_from_json_line(const std::string& line);

void write_events(std::ostream& out, const std::vector<Event>& events);
// Reads a whole recording; an unparsable line is an error naming its number.
Result<std::vector<Event>> read_events(std::istream& in);
Result<std::vector<Event>> read_events_file(const std::string& path);

}  // namespace tpk::model
