package dvp.engine.cuda;

import jcuda.Pointer;

/**
 * JCuda↔FFM bridge for host addresses: wraps an off-heap address (a {@link
 * java.lang.foreign.MemorySegment}'s, or pinned memory) for JCuda calls, and exposes the address
 * JCuda wrote into a pointer it filled in (cuMemHostAlloc). No reflection: the raw value is
 * reachable from a subclass.
 */
final class HostPointer extends Pointer {
    /** An empty pointer for cuMemHostAlloc to fill in. */
    HostPointer() { super(); }

    HostPointer(long address) { super(address); }

    long address() { return getNativePointer() + getByteOffset(); }
}
