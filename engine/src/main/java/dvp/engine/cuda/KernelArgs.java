package dvp.engine.cuda;

import jcuda.NativePointerObject;
import jcuda.Pointer;

import java.util.Arrays;

/**
 * The argument list of one kernel launch, in the kernel's parameter order. JCuda's cuLaunchKernel
 * takes {@code void** kernelParams} as a Pointer to Pointers, each pointing at one argument's
 * bytes. Device pointers are passed as their 64-bit address (a {@code T*} parameter is 8 bytes),
 * so no CUdeviceptr object is needed per argument.
 */
final class KernelArgs {
    private NativePointerObject[] slots = new NativePointerObject[16];
    private int n;

    private KernelArgs add(NativePointerObject p) {
        if (n == slots.length) slots = Arrays.copyOf(slots, n * 2);
        slots[n++] = p;
        return this;
    }

    /** A {@code T*} parameter (0 for null). */
    KernelArgs ptr(long address) { return add(Pointer.to(new long[]{address})); }

    /** A {@code long long} parameter. */
    KernelArgs i64(long v) { return add(Pointer.to(new long[]{v})); }

    KernelArgs i32(int v) { return add(Pointer.to(new int[]{v})); }

    KernelArgs u16(short v) { return add(Pointer.to(new short[]{v})); }

    KernelArgs f32(float v) { return add(Pointer.to(new float[]{v})); }

    KernelArgs f64(double v) { return add(Pointer.to(new double[]{v})); }

    /** A struct passed by value whose fields are all 64-bit (no padding rules to mirror). */
    KernelArgs struct64(long[] words) { return add(Pointer.to(words.clone())); }

    Pointer build() { return Pointer.to(Arrays.copyOf(slots, n)); }
}
