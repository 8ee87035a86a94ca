package dvp.engine.cuda;

import jcuda.driver.CUdeviceptr;

/**
 * JCuda↔FFM bridge for device addresses (no reflection). JCuda keeps a pointer's raw value in
 * protected state; this subclass exposes it as the {@code long} that FFM calls (cuBLAS, cuDNN) and
 * kernel arguments need, and wraps a raw address (e.g. base + byte offset of a tensor view) for
 * JCuda's memcpy/memset calls. JCuda's native side reads nativePointer + byteOffset, so an address
 * is represented as byteOffset over a null base.
 */
final class DevicePointer extends CUdeviceptr {
    private static final CUdeviceptr NULL = new CUdeviceptr();

    /** An empty pointer for cuMemAlloc to fill in. */
    DevicePointer() { super(); }

    /** Wraps a raw device address. */
    DevicePointer(long address) { super(NULL, address); }

    long address() { return getNativePointer() + getByteOffset(); }
}
