// Stage 5, classify: what each packet is and says, once all its hops and
// syscalls are known. Consumes the packets (causes and hops attached), the
// connections and the syscalls. Sets each packet's kind, relative sequence
// numbers, error_syscall (a reset's victim), drop status of answered
// segments, sent_by and cause_ns, and sorts its hops by time with their
// since_cause_ns.
#pragma once

#include <vector>

#include "journey/correlator_common.h"

namespace tpk::journey::stages {

void classify(std::vector<PacketState>& packets, const std::vector<Connection>& connections,
              const std::vector<Syscall>& syscalls);

}  // namespace tpk::journey::stages
