// `fleetsim store DIR --port N [--bandwidth RATE] [--connection-bandwidth RATE] [--host 127.0.0.1]
// [--quiet]`: runs the real-mode model store (real/store/store_server.hpp) until Ctrl-C (SIGINT)
// or SIGTERM. Prints "store listening on 127.0.0.1:PORT" on stdout once it serves (port 0: the
// chosen one), then one line per transfer and a summary at the end on stderr (not with --quiet).
// Exit 0 after a signal; 2 bad input (DIR not a folder, a rate that is not a bandwidth, an address
// other than loopback, a port in use).
#pragma once

namespace CLI {
class App;
}

namespace fleetsim {

void add_store_command(CLI::App& app, int& exit_code);

}  // namespace fleetsim
