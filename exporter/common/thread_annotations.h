// Lock-protocol annotations, after abseil's thread_annotations.h.
//
// They say which mutex guards a member (TLE_GUARDED_BY), which lock a method
// needs held (TLE_REQUIRES) or must not hold (TLE_EXCLUDES), and the order two
// locks are taken in (TLE_ACQUIRED_AFTER). Under clang they become the
// attributes -Wthread-safety reads; under GCC they expand to nothing and stay
// documentation, checked at run time by the TSan build (CMakePresets.json
// `tsan`). libstdc++'s std::mutex carries no capability attribute, so even
// clang checks them only with an annotated standard library (libc++).
#pragma once

#if defined(__clang__)
#define TLE_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define TLE_THREAD_ANNOTATION(x)
#endif

// The member is read and written only with `mutex` held.
#define TLE_GUARDED_BY(mutex) TLE_THREAD_ANNOTATION(guarded_by(mutex))
// What the pointer points to is guarded by `mutex` (the pointer itself is not).
#define TLE_PT_GUARDED_BY(mutex) TLE_THREAD_ANNOTATION(pt_guarded_by(mutex))
// The caller holds these locks.
#define TLE_REQUIRES(...) \
  TLE_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
// The caller does not hold these locks (the function takes them itself).
#define TLE_EXCLUDES(...) TLE_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// This mutex is taken only while the listed ones are already held.
#define TLE_ACQUIRED_AFTER(...) \
  TLE_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
