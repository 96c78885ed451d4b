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
#include "util/result.h"

namespace tpk::report {

using journey::TwoHostsView;

// The sentence under each fact, true for veth, shared by the text and the
// HTML page (report/two_hosts_html.cpp); size is empty without the SYN's MSS.
struct TwoHostsNotes {
    std::string hosts, neighbour, route, devices, size;
};
TwoHostsNotes two_hosts_notes(const TwoHostsView& v);

std::string render_two_hosts_text(const TwoHostsView& v, const TextStyle& style);
// One line {"type":"two_hosts", ...} (docs/json-schema.md).
void write_two_hosts_json(const TwoHostsView& v, std::ostream& out);

// `journey --two-hosts --html FILE`: the two-hosts journey's sequence
// diagram beside the loopback one (when lo is given: --compare-loopback),
// the facts above as a table against loopback with their sentences, the
// time per layer side by side, then each journey's stack and packets.
std::string render_two_hosts_html(const journey::Journey& veth, const TwoHostsView& v,
                                  const journey::Journey* lo);
Status write_two_hosts_html(const journey::Journey& veth, const TwoHostsView& v,
                            const journey::Journey* lo, const std::string& path);

}  // namespace tpk::report
