// How the stages start their threads: std::thread in a real run; tests pass their own
// (one that fails after some threads, one that counts the threads still alive) to check
// the path of a thread that cannot be started and that no thread is left behind.
// A spawner throws std::system_error when it cannot start a thread, as std::thread does.
#pragma once

#include <functional>
#include <thread>

namespace pm::pipeline {

using ThreadSpawner = std::function<std::thread(std::function<void()>)>;

inline std::thread spawn_thread(std::function<void()> body) { return std::thread(std::move(body)); }

}  // namespace pm::pipeline
