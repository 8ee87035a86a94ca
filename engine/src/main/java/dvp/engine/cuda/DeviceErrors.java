package dvp.engine.cuda;

/**
 * Errors that kernels detect on the device (an out-of-range label) are written into a small device
 * word instead of being lost, and turned into an exception at the next synchronisation, so ops
 * stay asynchronous. Codes mirror common.cuh.
 */
final class DeviceErrors {
    static final int LABEL_OUT_OF_RANGE = 1;
    static final int QUEUE_POINTER = 2;
    static final int INDEX_OUT_OF_RANGE = 3;

    private DeviceErrors() {}

    static String describe(int code, int info) {
        return switch (code) {
            case LABEL_OUT_OF_RANGE -> "cross_entropy: the label at row " + info + " is outside [0, classes)";
            case QUEUE_POINTER -> "enqueue: queue pointer " + info + " + batch does not fit the queue (a pointer saved with another batch size?); nothing was enqueued";
            case INDEX_OUT_OF_RANGE -> "gatherRows: the index of output row " + info + " is outside [0, rows of x); that row was not written";
            default -> "device error code " + code + " (info " + info + ")";
        };
    }
}
