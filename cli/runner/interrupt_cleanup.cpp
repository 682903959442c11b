#include "cli/runner/interrupt_cleanup.hpp"

#include <atomic>
#include <csignal>
#include <cstring>
#include <mutex>

#include <unistd.h>

namespace fleetsim {

namespace {

constexpr int kSlots = 64;
constexpr int kPaths = 8;
constexpr std::size_t kPathBytes = 1024;

// A slot is claimed (Claimed), filled, then published (Armed); the handler reads Armed slots.
enum State : int { Free = 0, Claimed = 1, Armed = 2 };

struct Slot {
  std::atomic<int> state{Free};
  int files = 0;
  int folders = 0;  // paths[files .. files + folders)
  char paths[kPaths][kPathBytes] = {};
};

Slot g_slots[kSlots];

extern "C" void remove_and_die(int sig) {
  for (Slot& s : g_slots) {
    if (s.state.load() != Armed) continue;
    for (int i = 0; i < s.files; ++i) ::unlink(s.paths[i]);
    for (int i = 0; i < s.folders; ++i) ::rmdir(s.paths[s.files + i]);  // only if empty
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void install_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_handler = remove_and_die;
    sigemptyset(&action.sa_mask);
    for (int sig : {SIGINT, SIGTERM}) {
      struct sigaction previous {};
      sigaction(sig, nullptr, &previous);
      if (previous.sa_handler == SIG_IGN) continue;  // (nohup and friends keep ignoring it)
      sigaction(sig, &action, nullptr);
    }
  });
}

}  // namespace

RemoveOnInterrupt::RemoveOnInterrupt(const std::vector<std::string>& files, const std::vector<std::string>& folders) {
  if (files.size() + folders.size() > static_cast<std::size_t>(kPaths)) return;
  for (const auto* list : {&files, &folders})
    for (const std::string& p : *list)
      if (p.size() >= kPathBytes) return;
  install_once();
  for (int i = 0; i < kSlots; ++i) {
    int expected = Free;
    if (!g_slots[i].state.compare_exchange_strong(expected, Claimed)) continue;
    Slot& s = g_slots[i];
    s.files = static_cast<int>(files.size());
    s.folders = static_cast<int>(folders.size());
    for (int f = 0; f < s.files; ++f) std::strcpy(s.paths[f], files[static_cast<std::size_t>(f)].c_str());
    for (int f = 0; f < s.folders; ++f) std::strcpy(s.paths[s.files + f], folders[static_cast<std::size_t>(f)].c_str());
    s.state.store(Armed);
    slot_ = i;
    return;
  }
}

RemoveOnInterrupt::~RemoveOnInterrupt() {
  if (slot_ >= 0) g_slots[slot_].state.store(Free);
}

}  // namespace fleetsim
