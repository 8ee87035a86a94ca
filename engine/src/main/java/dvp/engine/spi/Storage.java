package dvp.engine.spi;

import dvp.engine.DType;

/**
 * A block of memory owned by one backend. Storage is freed exactly once, by the {@link
 * dvp.engine.Scope} that allocated it (or explicitly); after that every access through a tensor
 * throws instead of reading freed memory.
 */
public interface Storage {
    Backend backend();

    DType dtype();

    /** Capacity in elements of {@link #dtype()}. */
    long numel();

    default long byteSize() { return numel() * dtype().byteSize(); }

    boolean isFreed();

    /** Releases the memory; idempotent. */
    void free();
}
