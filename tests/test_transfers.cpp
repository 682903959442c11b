// Max-min fair sharing of links: computed by hand, then the incremental recomputation against
// references on random networks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "sim/rng.hpp"
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

// ---- Incremental recomputation (issue 14) ----------------------------------------------------
// A start, end or cancel recomputes only the component of limited links and transfers it
// touches (sim/transfers.hpp). Checked here against two references on random networks:
//  - the same network with every rate recomputed from scratch after each step
//    (`reallocate_all`): rates, bytes left, next completion and finish order bit for bit;
//  - an independent progressive filling (the whole-network sweep the engine used before,
//    below), run on each connected component found by union-find: rates bit for bit; and, on
//    networks of generic (random real) bandwidths, run once over the whole network;
//  - every transfer's bytes stepped at each start, end and cancel, as the engine did before
//    it kept bytes per transfer from its last rate change: bytes left, bytes per link, the
//    bytes a cancel returns and the next completion, to rounding (a nanosecond for times).

namespace {

struct RefTransfer {
  TransferNetwork::TransferId id;
  std::vector<TransferNetwork::LinkId> links;
  double cap;
  std::uint64_t owner;
  double left = 0;  // bytes left, stepped at every change
};

// The whole-network progressive filling as the engine had it (the transfers in start order).
std::vector<double> sweep_rates(const std::vector<double>& bandwidth, const std::vector<RefTransfer>& transfers) {
  std::vector<double> residual(bandwidth);
  std::vector<std::uint32_t> unfrozen(bandwidth.size(), 0);
  std::vector<double> rate(transfers.size(), 0);
  std::vector<bool> frozen(transfers.size(), false);
  for (const RefTransfer& t : transfers)
    for (auto l : t.links) ++unfrozen[l];
  auto share_of = [&](const RefTransfer& t) {
    double share = t.cap;
    for (auto l : t.links) share = std::min(share, residual[l] / unfrozen[l]);
    return share;
  };
  std::size_t left = transfers.size();
  while (left > 0) {
    double level = TransferNetwork::kUnlimited;
    for (std::size_t i = 0; i < transfers.size(); ++i)
      if (!frozen[i]) level = std::min(level, share_of(transfers[i]));
    if (!std::isfinite(level)) level = 1e30;
    for (std::size_t i = 0; i < transfers.size(); ++i) {
      if (frozen[i]) continue;
      const double share = share_of(transfers[i]);
      if (share > level * (1 + 1e-12) && std::isfinite(share)) continue;
      frozen[i] = true;
      rate[i] = std::min(level, share);
      --left;
      for (auto l : transfers[i].links) {
        residual[l] = std::max(0.0, residual[l] - level);
        --unfrozen[l];
      }
    }
  }
  return rate;
}

// The sweep on each component (transfers joined by a limited link), found by union-find.
std::vector<double> componentwise_rates(const std::vector<double>& bandwidth, const std::vector<RefTransfer>& transfers) {
  std::vector<std::size_t> parent(transfers.size());
  for (std::size_t i = 0; i < parent.size(); ++i) parent[i] = i;
  auto root = [&](std::size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  std::vector<std::size_t> first_on(bandwidth.size(), transfers.size());
  for (std::size_t i = 0; i < transfers.size(); ++i)
    for (auto l : transfers[i].links) {
      if (std::isinf(bandwidth[l])) continue;
      if (first_on[l] == transfers.size()) first_on[l] = i;
      else parent[root(i)] = root(first_on[l]);
    }
  std::vector<double> rate(transfers.size(), 0);
  std::vector<bool> done(transfers.size(), false);
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    if (done[i]) continue;
    std::vector<std::size_t> members;
    std::vector<RefTransfer> component;
    for (std::size_t j = i; j < transfers.size(); ++j)  // in start order
      if (root(j) == root(i)) members.push_back(j), component.push_back(transfers[j]);
    const std::vector<double> r = sweep_rates(bandwidth, component);
    for (std::size_t k = 0; k < members.size(); ++k) rate[members[k]] = r[k], done[members[k]] = true;
  }
  return rate;
}

double pick(RngStream& rng, std::initializer_list<double> values) {
  return values.begin()[rng.below(values.size())];
}

// Drives an incremental network and a from-scratch one through the same random steps and
// compares them (and the reference filling) after each. `generic`: random real bandwidths and
// caps, and every transfer limited by something, so the whole-network sweep must agree too.
void check_random_network(std::uint64_t seed, bool generic) {
  RngStream rng(seed, generic ? "transfers/property-generic" : "transfers/property");
  TransferNetwork incremental, scratch;
  std::vector<double> bandwidth;
  auto add_link = [&](double bw) {
    incremental.add_link(bw);
    scratch.add_link(bw);
    bandwidth.push_back(bw);
    return static_cast<TransferNetwork::LinkId>(bandwidth.size() - 1);
  };
  const double inf = TransferNetwork::kUnlimited;
  auto link_bandwidth = [&](bool may_be_unlimited) {
    if (may_be_unlimited && rng.uniform() < 0.3) return inf;
    if (generic) return rng.uniform(0.5e9, 20e9);
    return pick(rng, {1e9, 2e9, 3e9, 3.125e9, 6e9, 10e9, 12.5e9});
  };
  const auto nodes = 2 + rng.below(10);
  std::vector<TransferNetwork::LinkId> net, disk;
  for (std::uint64_t n = 0; n < nodes; ++n) {
    net.push_back(add_link(link_bandwidth(false)));
    disk.push_back(add_link(link_bandwidth(false)));
  }
  const auto store = add_link(link_bandwidth(true));
  const auto registry = add_link(link_bandwidth(true));
  const auto spine = add_link(link_bandwidth(true));

  std::vector<RefTransfer> active;  // in start order
  std::uint64_t next_owner = 1;
  SimTime now = 0;
  auto start = [&] {
    const auto n = rng.below(nodes);
    std::vector<TransferNetwork::LinkId> links;
    switch (rng.below(generic ? 4 : 6)) {
      case 0: links = {net[n], store}; break;
      case 1: links = {net[n], registry}; break;
      case 2: links = {disk[n]}; break;
      case 3: links = {net[n], spine, net[rng.below(nodes)]}; break;  // node to node
      case 4: links = {}; break;                                       // host memory
      default: links = {store}; break;
    }
    double cap = inf;
    if (links.empty() || rng.uniform() < 0.4) cap = generic ? rng.uniform(0.5e9, 20e9) : pick(rng, {2e9, 3e9, 25e9, 50e9});
    if (!generic && links.empty() && rng.uniform() < 0.2) cap = inf;  // limited by nothing
    const double bytes = generic ? rng.uniform(1e8, 5e10) : pick(rng, {1e9, 4e9, 1.6e10, 1.4e11});
    const auto a = incremental.start(now, bytes, cap, links, next_owner);
    const auto b = scratch.start(now, bytes, cap, links, next_owner);
    REQUIRE(a == b);
    active.push_back(RefTransfer{a, links, cap, next_owner++, bytes});
  };
  // The stepped reference: from the last change to `now` every transfer moved at its rate.
  std::vector<double> moved(bandwidth.size(), 0);
  SimTime stepped = 0;
  auto step_to = [&](SimTime t) {
    const double dt = to_seconds(t - stepped);
    stepped = t;
    for (RefTransfer& r : active) {
      const double m = std::min(r.left, incremental.rate(r.id) * dt);
      r.left -= m;
      for (auto l : r.links) moved[l] += m;
    }
  };
  auto bytes_close = [](double a, double b) { return std::abs(a - b) <= 1e-3 + 1e-9 * std::max(std::abs(a), std::abs(b)); };

  for (int step = 0; step < 400; ++step) {
    INFO("seed " << seed << ", step " << step << ", " << active.size() << " active");
    const double what = rng.uniform();
    const SimTime next = incremental.next_completion();
    if (what < 0.45 || active.empty() || next == kNever) {
      if (next != kNever && next > now && rng.uniform() < 0.5) now += static_cast<SimTime>(rng.below(static_cast<std::uint64_t>(next - now)));
      step_to(now);
      start();
    } else if (what < 0.6) {
      if (rng.uniform() < 0.5) now += static_cast<SimTime>(rng.below(static_cast<std::uint64_t>(next - now) + 1));
      const auto k = rng.below(active.size());
      step_to(now);
      const double left = incremental.cancel(now, active[k].id);
      REQUIRE(left == scratch.cancel(now, active[k].id));
      REQUIRE(bytes_close(left, active[k].left));
      active.erase(active.begin() + static_cast<std::ptrdiff_t>(k));
    } else {
      now = next;
      step_to(now);
      std::vector<std::uint64_t> a, b;
      incremental.complete_until(now, a);
      scratch.complete_until(now, b);
      REQUIRE(a == b);
      REQUIRE(!a.empty());
      for (const RefTransfer& t : active)  // what finished has (next to) nothing left
        if (std::find(a.begin(), a.end(), t.owner) != a.end()) {
          REQUIRE(bytes_close(t.left, 0));
          for (auto l : t.links) moved[l] += t.left;
        }
      std::erase_if(active, [&](const RefTransfer& t) { return std::find(a.begin(), a.end(), t.owner) != a.end(); });
    }
    scratch.reallocate_all();
    REQUIRE(incremental.active() == active.size());
    REQUIRE(incremental.next_completion() == scratch.next_completion());
    SimTime stepped_next = kNever;  // as the engine found it: the bytes left now over the rate
    for (const RefTransfer& t : active)
      if (incremental.rate(t.id) > 0)
        stepped_next = std::min(stepped_next, now + static_cast<SimTime>(std::max(0.0, std::ceil(t.left / incremental.rate(t.id) * 1e9))));
    if (stepped_next == kNever) REQUIRE(incremental.next_completion() == kNever);
    else REQUIRE(std::abs(static_cast<double>(incremental.next_completion() - stepped_next)) <= 1);
    const std::vector<double> reference = componentwise_rates(bandwidth, active);
    const std::vector<double> whole = generic ? sweep_rates(bandwidth, active) : reference;
    for (std::size_t k = 0; k < active.size(); ++k) {
      const auto id = active[k].id;
      REQUIRE(incremental.rate(id) == scratch.rate(id));
      REQUIRE(incremental.remaining(id) == scratch.remaining(id));
      REQUIRE(incremental.rate(id) == reference[k]);
      REQUIRE(incremental.rate(id) == whole[k]);
      REQUIRE(bytes_close(incremental.remaining(id), active[k].left));
    }

    for (TransferNetwork::LinkId l = 0; l < bandwidth.size(); ++l) {
      REQUIRE(incremental.transfers_on(l) == scratch.transfers_on(l));
      REQUIRE(incremental.bytes_moved(l) == scratch.bytes_moved(l));
    }
  }
  // Bytes per link, once the transfers still moving are brought up to date.
  incremental.settle_all();
  for (TransferNetwork::LinkId l = 0; l < bandwidth.size(); ++l) {
    INFO("seed " << seed << ", link " << l);
    REQUIRE(bytes_close(incremental.bytes_moved(l), moved[l]));
  }
}

}  // namespace

TEST_CASE("incremental recomputation equals recomputing everything, on random networks", "[transfers][property]") {
  const std::uint64_t seed = GENERATE(range(1, 41));
  check_random_network(seed, false);
}

TEST_CASE("on generic bandwidths the per-component filling equals the whole-network sweep", "[transfers][property]") {
  const std::uint64_t seed = GENERATE(range(1, 21));
  check_random_network(seed, true);
}

TEST_CASE("a start or end recomputes only the transfers its links connect it to", "[transfers]") {
  for (const bool store_limited : {false, true}) {
    TransferNetwork net;
    const auto store = net.add_link(store_limited ? 100e9 : TransferNetwork::kUnlimited);
    std::vector<TransferNetwork::LinkId> node;
    for (int n = 0; n < 1000; ++n) node.push_back(net.add_link(3.125e9));
    for (int n = 0; n < 1000; ++n) {
      std::vector<TransferNetwork::LinkId> path{node[n], store};
      net.start(0, 1e10, TransferNetwork::kUnlimited, path, static_cast<std::uint64_t>(n));
    }
    std::vector<TransferNetwork::LinkId> path{node[500], store};
    const std::uint64_t before = net.transfers_recomputed();
    const auto id = net.start(kSecond, 1e10, TransferNetwork::kUnlimited, path, 1000);
    // Unlimited store: node 500's two loads; a limited one joins every load into one component.
    REQUIRE(net.transfers_recomputed() - before == (store_limited ? 1001u : 2u));
    const std::uint64_t mid = net.transfers_recomputed();
    net.cancel(2 * kSecond, id);
    REQUIRE(net.transfers_recomputed() - mid == (store_limited ? 1000u : 1u));
  }
}
