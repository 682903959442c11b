// Max-min fair sharing of links, computed by hand.
#include <catch2/catch.hpp>

#include "sim/transfers.hpp"

using namespace fleetsim;

namespace {
std::vector<std::uint64_t> finish_next(TransferNetwork& net, SimTime& now) {
  now = net.next_completion();
  std::vector<std::uint64_t> done;
  net.complete_until(now, done);
  return done;
}
}  // namespace

TEST_CASE("two concurrent loads on one link each get half and finish when computed", "[transfers]") {
  TransferNetwork net;
  auto link = net.add_link(10e9);  // 10 GB/s
  std::vector<TransferNetwork::LinkId> path{link};
  auto a = net.start(0, 20e9, TransferNetwork::kUnlimited, path, 1);
  auto b = net.start(0, 10e9, TransferNetwork::kUnlimited, path, 2);
  REQUIRE(net.rate(a) == 5e9);
  REQUIRE(net.rate(b) == 5e9);
  // b: 10 GB at 5 GB/s -> 2 s. Then a alone: 10 GB left at 10 GB/s -> 1 s more.
  SimTime now = 0;
  REQUIRE(finish_next(net, now) == std::vector<std::uint64_t>{2});
  REQUIRE(now == 2 * kSecond);
  REQUIRE(net.rate(a) == 10e9);
  REQUIRE(finish_next(net, now) == std::vector<std::uint64_t>{1});
  REQUIRE(now == 3 * kSecond);
  REQUIRE(net.bytes_moved(link) == Approx(30e9));
  REQUIRE(net.next_completion() == kNever);
}

TEST_CASE("a capped transfer leaves the rest of the link to the others (max-min)", "[transfers]") {
  TransferNetwork net;
  auto link = net.add_link(12e9);
  std::vector<TransferNetwork::LinkId> path{link};
  auto capped = net.start(0, 1e9, 2e9, path, 1);  // e.g. one GPU's host-to-device bandwidth
  auto x = net.start(0, 1e9, TransferNetwork::kUnlimited, path, 2);
  auto y = net.start(0, 1e9, TransferNetwork::kUnlimited, path, 3);
  REQUIRE(net.rate(capped) == 2e9);
  REQUIRE(net.rate(x) == 5e9);
  REQUIRE(net.rate(y) == 5e9);
}

TEST_CASE("the cluster-wide store limit and the node links combine", "[transfers]") {
  // Store 8 GB/s shared by three loads; node A's link 10 GB/s carries two of them, node B's
  // link 2 GB/s one. B's load is held to 2 by its own link; A's two share the store's other 6.
  TransferNetwork net;
  auto store = net.add_link(8e9);
  auto node_a = net.add_link(10e9);
  auto node_b = net.add_link(2e9);
  std::vector<TransferNetwork::LinkId> via_a{store, node_a}, via_b{store, node_b};
  auto a1 = net.start(0, 1e9, TransferNetwork::kUnlimited, via_a, 1);
  auto a2 = net.start(0, 1e9, TransferNetwork::kUnlimited, via_a, 2);
  auto b1 = net.start(0, 1e9, TransferNetwork::kUnlimited, via_b, 3);
  REQUIRE(net.rate(b1) == 2e9);
  REQUIRE(net.rate(a1) == 3e9);
  REQUIRE(net.rate(a2) == 3e9);
  REQUIRE(net.transfers_on(store) == 3);
}

TEST_CASE("cancelling a transfer gives its share back", "[transfers]") {
  TransferNetwork net;
  auto link = net.add_link(4e9);
  std::vector<TransferNetwork::LinkId> path{link};
  auto a = net.start(0, 8e9, TransferNetwork::kUnlimited, path, 1);
  auto b = net.start(0, 8e9, TransferNetwork::kUnlimited, path, 2);
  net.cancel(kSecond, b);  // a moved 2 GB in the first second
  REQUIRE(net.rate(a) == 4e9);
  SimTime now = 0;
  REQUIRE(finish_next(net, now) == std::vector<std::uint64_t>{1});
  REQUIRE(now == 2500 * kMillisecond);  // 6 GB left at 4 GB/s
}
