package dvp.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float sums in 16 fixed logical lanes, so a reduction gives the same bits on every vector width:
 * logical lane j adds elements j, j+16, j+32, ... in order, and the lanes are then added 0 to 15.
 * With the machine's vectors of {@link #L} lanes (16, 8 or 4) a block of 16 elements is {@link #G}
 * vectors, accumulated in up to four registers; on AVX-512 this is the plain one-vector loop.
 * Without it, an AVX2 machine (8 lanes) grouped batch norm's plane sums differently from an AVX-512
 * one, and a checkpoint resumed on the other kind of CPU continued with different numbers.
 */
final class Lanes16 {
    /** The preferred species when its lane count divides 16 (4, 8 or 16), else the 512-bit one. */
    static final VectorSpecies<Float> S = pick();
    static final int L = S.length();
    /** Vectors per block of 16 elements. */
    static final int G = 16 / L;

    private Lanes16() {}

    private static VectorSpecies<Float> pick() {
        VectorSpecies<Float> p = FloatVector.SPECIES_PREFERRED;
        if (p.length() >= 4 && p.length() <= 16) return p;
        return p.length() < 4 ? FloatVector.SPECIES_128 : FloatVector.SPECIES_512;
    }

    /** Lanes of a0 (logical 0 ..), then of a1, a2, a3 as far as G needs them, added in float, in order. */
    static float inOrder(FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3) {
        float s = 0f;
        for (int l = 0; l < L; l++) s += a0.lane(l);
        if (G > 1) for (int l = 0; l < L; l++) s += a1.lane(l);
        if (G > 2) {
            for (int l = 0; l < L; l++) s += a2.lane(l);
            for (int l = 0; l < L; l++) s += a3.lane(l);
        }
        return s;
    }

    /** Σ a[off .. off+len) for len a multiple of 16, in the logical-lane order. */
    static float sum(float[] a, int off, int len) {
        FloatVector z = FloatVector.zero(S), a0 = z, a1 = z, a2 = z, a3 = z;
        for (int i = off; i < off + len; i += 16) {
            a0 = a0.add(FloatVector.fromArray(S, a, i));
            if (G > 1) a1 = a1.add(FloatVector.fromArray(S, a, i + L));
            if (G > 2) {
                a2 = a2.add(FloatVector.fromArray(S, a, i + 2 * L));
                a3 = a3.add(FloatVector.fromArray(S, a, i + 3 * L));
            }
        }
        return inOrder(a0, a1, a2, a3);
    }
}
