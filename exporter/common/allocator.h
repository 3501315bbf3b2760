// The process's memory-trim policy, in one place (glibc only; elsewhere both
// calls do nothing).
//
// A walk frees everything it built once its text is published; glibc keeps
// freed memory in its arenas unless told otherwise, and with a walker and a
// few dozen web threads each holding some, RSS after 100 walks of 10,000 rooms
// was 1.86x RSS after one (bench/README.md, "Giving freed memory back"). The
// policy: a fixed mmap threshold, two arenas, and a trim after every walk.
#pragma once

namespace tle {

// Once, first thing in main (before any thread starts): fixes the mmap
// threshold and caps the number of malloc arenas.
void TuneAllocator();

// After each walk's snapshot is published and the previous one freed: hands
// free pages back to the kernel. Takes milliseconds. Any thread.
void ReleaseFreeMemory();

}  // namespace tle
