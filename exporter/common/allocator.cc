#include "exporter/common/allocator.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace tle {

void TuneAllocator() {
#ifdef __GLIBC__
  // A fixed mmap threshold: left dynamic, glibc raises it to the size of the
  // largest block freed so far (the multi-MiB exposition text of the last
  // walk), after which big blocks come from the arenas and their memory is
  // kept. Fixed at 1 MiB, a block that large (an answer read up to its cap, a
  // rendered snapshot) is mmapped and goes back to the kernel when freed;
  // setting it also stops the trim threshold from moving. 1 MiB is the value
  // the bench/README.md figures were measured with. (main used to set 128 KiB
  // first and 1 MiB a few lines later; only the second took effect.)
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // Two arenas for two cores, instead of one per web thread, each holding its
  // own freed scrape memory.
  mallopt(M_ARENA_MAX, 2);
#endif
}

void ReleaseFreeMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace tle
