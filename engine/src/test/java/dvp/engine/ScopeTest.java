package dvp.engine;

import dvp.engine.cpu.CpuMemoryStats;
import org.junit.jupiter.api.Test;

import static dvp.engine.testing.Tensors.cpu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScopeTest {
    @Test void closingAScopeFreesWhatItAllocated() {
        long before = CpuMemoryStats.liveStorages();
        Tensor t;
        try (Scope s = Scope.open("step")) {
            t = Tensor.zeros(cpu(), 3, 4);
            Tensor.zeros(cpu(), 5);
            assertEquals(2, s.ownedCount());
            assertEquals(before + 2, CpuMemoryStats.liveStorages());
        }
        assertEquals(before, CpuMemoryStats.liveStorages());
        assertTrue(t.isFreed());
    }

    @Test void usingATensorAfterItsScopeClosedThrowsInsteadOfReadingFreedMemory() {
        Tensor t;
        try (Scope s = Scope.open("step")) {
            t = Tensor.of(cpu(), new float[]{1, 2, 3}, 3).setName("activations");
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, t::toFloatArray);
        assertTrue(e.getMessage().contains("'activations'") && e.getMessage().contains("'step' was closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> t.view(3, 1));
    }

    @Test void aDetachedScopeOutlivesTheStepThatFilledItAndClosesOutOfStackOrder() {
        long before = CpuMemoryStats.liveStorages();
        Scope graph = Scope.detached("graph");
        Tensor kept, temp;
        try (Scope step = Scope.open("step")) {
            temp = Tensor.zeros(cpu(), 2);
            kept = Scope.allocatingIn(graph, () -> Tensor.zeros(cpu(), 3));
            assertSame(step, Scope.current(), "a detached scope is never the current one outside allocatingIn");
        }
        assertTrue(temp.isFreed());
        assertFalse(kept.isFreed(), "the step's close leaves the detached scope's tensors");
        try (Scope other = Scope.open("other")) {
            graph.close(); // while another scope is innermost: no stack order applies
            assertSame(other, Scope.current());
        }
        assertTrue(kept.isFreed());
        assertEquals(before, CpuMemoryStats.liveStorages());
    }

    @Test void keepMovesOwnershipToTheParent() {
        try (Scope outer = Scope.open("outer")) {
            Tensor kept;
            try (Scope inner = Scope.open("inner")) {
                kept = inner.keep(Tensor.of(cpu(), new float[]{4, 5}, 2));
                assertEquals(0, inner.ownedCount());
            }
            assertFalse(kept.isFreed());
            assertSame(outer, kept.owner());
            assertArrayEquals(new float[]{4, 5}, kept.toFloatArray());
        }
    }

    @Test void scopesMustCloseInnermostFirst() {
        Scope outer = Scope.open("outer");
        Scope inner = Scope.open("inner");
        IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
        assertTrue(e.getMessage().contains("out of order"), e.getMessage());
        inner.close();
        outer.close();
    }

    @Test void allocatingInAnOuterScopeOutlivesTheInnerOne() {
        try (Scope outer = Scope.open("params")) {
            Tensor g;
            try (Scope step = Scope.open("step")) {
                g = Scope.allocatingIn(outer, () -> Tensor.zeros(cpu(), 2));
                assertEquals(0, step.ownedCount());
            }
            assertFalse(g.isFreed());
        }
    }

    @Test void viewsShareMemoryAndDieWithIt() {
        Tensor v;
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.of(cpu(), new float[]{0, 1, 2, 3, 4, 5}, 2, 3);
            v = t.narrow0(1, 1);
            assertArrayEquals(new float[]{3, 4, 5}, v.toFloatArray());
            t.copyFrom(Tensor.zeros(cpu(), 2, 3));
            assertArrayEquals(new float[]{0, 0, 0}, v.toFloatArray());
        }
        assertThrows(IllegalStateException.class, v::toFloatArray);
    }
}
