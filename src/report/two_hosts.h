// What changes when the journey leaves loopback (`journey --two-hosts`), as
// text and as one JSON Lines record: journey::two_hosts_view() computed it
// from what this run recorded (ARP frames from the capture, the route the
// client's namespace gave, the hops that fired on each veth end, the SYN's
// MSS, the largest frame the capture saw); the sentences under each line say
// why, true for veth.
#pragma once

#include <iosfwd>
#include <string>

#include "journey/two_hosts.h"
#include "report/text.h"

namespace tpk::report {

using journey::TwoHostsView;

std::string render_two_hosts_text(const TwoHostsView& v, const TextStyle& style);
// One line {"type":"two_hosts", ...} (docs/json-schema.md).
void write_two_hosts_json(const TwoHostsView& v, std::ostream& out);

}  // namespace tpk::report
