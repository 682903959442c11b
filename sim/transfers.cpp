#include "sim/transfers.hpp"

#include <algorithm>
#include <cmath>

namespace fleetsim {

namespace {
constexpr double kDoneBytes = 1e-3;  // below a thousandth of a byte left: finished
}

TransferNetwork::LinkId TransferNetwork::add_link(double bandwidth) {
  Link& link = links_.emplace_back();
  link.bandwidth = bandwidth;
  link.limited = !std::isinf(bandwidth);
  return static_cast<LinkId>(links_.size() - 1);
}

void TransferNetwork::touch(LinkId link) {
  if (links_[link].touched) return;
  links_[link].touched = true;
  touched_.push_back(link);
}

void TransferNetwork::clear_touched() {
  for (LinkId l : touched_) links_[l].touched = false;
  touched_.clear();
}

TransferNetwork::TransferId TransferNetwork::start(SimTime now, double bytes, double cap,
                                                   std::span<const LinkId> links, std::uint64_t owner) {
  progress(now);
  TransferId id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<TransferId>(transfers_.size());
    transfers_.emplace_back();
  }
  Transfer& t = transfers_[id];
  t.remaining = bytes;
  t.cap = cap;
  t.rate = 0;
  t.links.assign(links.begin(), links.end());
  t.owner = owner;
  t.order = next_order_++;
  attach(id);
  active_.push_back(id);
  reallocate_around({}, std::span<const TransferId>(&id, 1));
  return id;
}

double TransferNetwork::cancel(SimTime now, TransferId id) {
  progress(now);
  auto it = std::find(active_.begin(), active_.end(), id);
  if (it == active_.end()) return 0;
  detach(id);
  active_.erase(it);
  free_.push_back(id);
  reallocate_around(transfers_[id].links, {});
  return std::max(0.0, transfers_[id].remaining);
}

void TransferNetwork::attach(TransferId id) {
  for (LinkId l : transfers_[id].links) {
    ++links_[l].transfers;
    touch(l);
    if (links_[l].limited) links_[l].crossing.push_back(id);
  }
}

void TransferNetwork::detach(TransferId id) {
  for (LinkId l : transfers_[id].links) {
    --links_[l].transfers;
    touch(l);
    if (!links_[l].limited) continue;
    std::vector<TransferId>& on = links_[l].crossing;
    auto it = std::find(on.begin(), on.end(), id);
    if (it == on.end()) continue;  // a transfer listing the same link twice
    *it = on.back();
    on.pop_back();
  }
}

void TransferNetwork::progress(SimTime now) {
  const double dt = to_seconds(now - time_);
  time_ = now;
  if (dt <= 0) return;
  for (TransferId id : active_) {
    Transfer& t = transfers_[id];
    const double moved = std::min(t.remaining, t.rate * dt);
    t.remaining -= moved;
    for (LinkId l : t.links) links_[l].moved += moved;
  }
}

void TransferNetwork::reallocate_around(std::span<const LinkId> links, std::span<const TransferId> transfers) {
  if (++mark_ == 0) {  // wrapped: clear the old marks so none can match by accident
    for (Link& l : links_) l.mark = 0;
    for (Transfer& t : transfers_) t.mark = 0;
    mark_ = 1;
  }
  for (TransferId id : transfers) {
    if (transfers_[id].mark == mark_) continue;
    component_.clear();
    stack_.clear();
    transfers_[id].mark = mark_;
    component_.push_back(id);
    for (LinkId l : transfers_[id].links)
      if (links_[l].limited && links_[l].mark != mark_) links_[l].mark = mark_, stack_.push_back(l);
    gather(stack_);
    allocate();
  }
  for (LinkId l : links) {
    if (!links_[l].limited || links_[l].mark == mark_) continue;
    component_.clear();
    stack_.clear();
    links_[l].mark = mark_;
    stack_.push_back(l);
    gather(stack_);
    if (!component_.empty()) allocate();
  }
}

// Adds to component_ every active transfer reachable from the links on the stack through
// limited links, marking what it visits.
void TransferNetwork::gather(std::vector<LinkId>& stack) {
  while (!stack.empty()) {
    const LinkId l = stack.back();
    stack.pop_back();
    for (TransferId id : links_[l].crossing) {
      Transfer& t = transfers_[id];
      if (t.mark == mark_) continue;
      t.mark = mark_;
      component_.push_back(id);
      for (LinkId next : t.links)
        if (links_[next].limited && links_[next].mark != mark_) links_[next].mark = mark_, stack.push_back(next);
    }
  }
}

void TransferNetwork::reallocate_all() {
  seeds_.clear();
  for (TransferId id : active_) seeds_.push_back(id);
  reallocate_around({}, seeds_);
}

// Progressive filling with per-transfer caps, over the component in component_. Unlimited
// links are skipped: their share (infinity) is never the least, and nothing is taken from them.
void TransferNetwork::allocate() {
  std::sort(component_.begin(), component_.end(),
            [&](TransferId a, TransferId b) { return transfers_[a].order < transfers_[b].order; });
  const std::span<const TransferId> component = component_;
  transfers_recomputed_ += component.size();
  for (TransferId id : component)
    for (LinkId l : transfers_[id].links) {
      links_[l].residual = links_[l].bandwidth;
      links_[l].unfrozen = 0;
    }
  for (TransferId id : component) {
    Transfer& t = transfers_[id];
    t.frozen = false;
    t.rate = 0;
    for (LinkId l : t.links) ++links_[l].unfrozen;
  }
  auto share_of = [&](const Transfer& t) {
    double share = t.cap;
    for (LinkId l : t.links)
      if (links_[l].limited) share = std::min(share, links_[l].residual / links_[l].unfrozen);
    return share;
  };
  std::size_t left = component.size();
  while (left > 0) {
    // The next bottleneck: the smallest fair share any unfrozen transfer is held to.
    double level = kUnlimited;
    for (TransferId id : component) {
      const Transfer& t = transfers_[id];
      if (!t.frozen) level = std::min(level, share_of(t));
    }
    if (!std::isfinite(level)) level = 1e30;  // nothing limits it: effectively instant
    for (TransferId id : component) {
      Transfer& t = transfers_[id];
      if (t.frozen) continue;
      const double share = share_of(t);
      if (share > level * (1 + 1e-12) && std::isfinite(share)) continue;
      t.frozen = true;
      t.rate = std::min(level, share);
      --left;
      for (LinkId l : t.links) {
        links_[l].residual = std::max(0.0, links_[l].residual - level);
        --links_[l].unfrozen;
      }
    }
  }
}

SimTime TransferNetwork::next_completion() const {
  SimTime best = kNever;
  for (TransferId id : active_) {
    const Transfer& t = transfers_[id];
    if (t.rate <= 0) continue;
    const double ns = std::ceil(t.remaining / t.rate * 1e9);
    best = std::min(best, time_ + static_cast<SimTime>(std::max(0.0, ns)));
  }
  return best;
}

void TransferNetwork::complete_until(SimTime now, std::vector<std::uint64_t>& finished) {
  progress(now);
  seeds_.clear();
  for (std::size_t i = 0; i < active_.size();) {
    const TransferId id = active_[i];
    Transfer& t = transfers_[id];
    if (t.remaining > kDoneBytes) {
      ++i;
      continue;
    }
    finished.push_back(t.owner);
    detach(id);
    for (LinkId l : t.links) seeds_.push_back(l);
    free_.push_back(id);
    active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  if (!seeds_.empty()) reallocate_around(seeds_, {});
}

}  // namespace fleetsim
