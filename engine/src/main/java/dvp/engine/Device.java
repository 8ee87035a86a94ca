package dvp.engine;

/** Where a tensor lives: a backend name ("cpu", "cuda") and a device index. */
public record Device(String kind, int index) {
    public static final Device CPU = new Device("cpu", 0);

    public static Device cuda(int index) { return new Device("cuda", index); }

    @Override
    public String toString() { return kind.equals("cpu") ? "cpu" : kind + ":" + index; }
}
