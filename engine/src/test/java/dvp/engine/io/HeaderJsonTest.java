package dvp.engine.io;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The header reader's strictness and its messages (it was a hand-written parser; the cases are the same). */
class HeaderJsonTest {
    @Test void parsesEveryValueKind() throws Exception {
        Object v = HeaderJson.parse(" {\"a\": [1, -2, 3.5, 1e3, true, false, null, \"x\\n\\u00e9\\ud83d\\ude00\"], \"b\": {}} \n");
        Map<?, ?> m = (Map<?, ?>) v;
        List<?> a = (List<?>) m.get("a");
        assertEquals(1L, a.get(0));
        assertEquals(-2L, a.get(1));
        assertEquals(new BigDecimal("3.5"), a.get(2));
        assertEquals(new BigDecimal("1e3"), a.get(3));
        assertEquals(Boolean.TRUE, a.get(4));
        assertEquals(Boolean.FALSE, a.get(5));
        assertSame(HeaderJson.NULL, a.get(6));
        assertEquals("x\né\uD83D\uDE00", a.get(7));
        assertEquals(Map.of(), m.get("b"));
        assertEquals(List.of("a", "b"), List.copyOf(m.keySet()), "document order is kept");
    }

    @Test void hugeIntegersBecomeBigInteger() throws Exception {
        assertEquals(Long.MAX_VALUE, HeaderJson.parse("9223372036854775807"));
        assertEquals(new BigInteger("9223372036854775808"), HeaderJson.parse("9223372036854775808"));
    }

    @Test void rejectsDuplicateKeysAnywhere() {
        assertError("{\"a\":1,\"a\":2}", "duplicate key \"a\" at character 7");
        assertError("{\"t\":{\"dtype\":\"F32\",\"dtype\":\"F16\"}}", "duplicate key \"dtype\"");
    }

    @Test void rejectsMalformedInputWithPosition() {
        assertError("{\"a\":1,}", "expected a string key at character 7");
        assertError("{\"a\":1", "unexpected end of input in object");
        assertError("{\"a\" 1}", "expected ':' at character 5");
        assertError("[1 2]", "expected ',' or ']' at character 3");
        assertError("{\"a\":01}", "leading zero");
        assertError("{\"a\":1.}", "expected a digit after '.'");
        assertError("{\"a\":tru}", "expected a value");
        assertError("{\"a\":\"x}", "unterminated string at character 5");
        assertError("{\"a\":\"\\q\"}", "invalid escape '\\q'");
        assertError("{\"a\":\"\\ud800\"}", "lone high surrogate");
        assertError("{\"a\":\"\\udc00\"}", "lone low surrogate");
        assertError("{\"a\":\"\t\"}", "raw control character U+0009");
        assertError("{} x", "unexpected 'x' after the JSON value at character 3");
        assertError("", "unexpected end of input, expected a value");
    }

    @Test void rejectsDeepNestingInsteadOfOverflowingTheStack() {
        assertError("[".repeat(100_000), "nesting deeper than 64 levels");
    }

    @Test void rejectsAbsurdNumbersThroughTheReadConstraints() throws Exception {
        assertError("{\"a\":" + "9".repeat(101) + "}", "number longer than 100 characters");
        // 100 digits pass the reader (the header's checks then call it too large for a shape)
        Map<?, ?> m = (Map<?, ?>) HeaderJson.parse("{\"shape\":[" + "1".repeat(100) + "]}");
        assertEquals(new BigInteger("1".repeat(100)), ((List<?>) m.get("shape")).getFirst());
    }

    @Test void quotesLikeSerdeJson() {
        assertEquals("\"a\\\"b\\\\c\\n\\t\\u0001é\"", HeaderJson.quote("a\"b\\c\n\t\u0001é"));
    }

    private static void assertError(String text, String expectedPart) {
        HeaderJson.ParseException e = assertThrows(HeaderJson.ParseException.class, () -> HeaderJson.parse(text));
        assertTrue(e.getMessage().contains(expectedPart), () -> "message '" + e.getMessage() + "' lacks '" + expectedPart + "'");
    }
}
