package dvp.engine.io;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON (RFC 8259) parser and string quoter, enough for safetensors headers. Why our
 * own: the header is untrusted input, so we want exact control over what is rejected (duplicate
 * keys, lone surrogates, trailing garbage, absurd nesting) with messages that say where; and one
 * file beats a dependency for ~200 lines of grammar.
 *
 * <p>Values map to: object → {@code LinkedHashMap<String,Object>} (document order kept),
 * array → {@code List<Object>}, string → {@code String}, integer → {@code Long} when it fits, else
 * {@code BigInteger}; a number with a fraction or exponent → {@code BigDecimal};
 * {@code true/false} → {@code Boolean}; {@code null} → {@link #NULL}.
 */
public final class Json {
    /** The JSON {@code null} (Java null is reserved for "absent"). */
    public static final Object NULL = new Object() {
        @Override public String toString() { return "null"; }
    };

    /** Nesting beyond this is rejected instead of overflowing the stack on hostile input. */
    static final int MAX_DEPTH = 64;

    /** A syntax error; {@link #position()} is the character index in the parsed text. */
    public static final class ParseException extends Exception {
        private final int position;

        ParseException(String message, int position) {
            super(message + " at character " + position);
            this.position = position;
        }

        public int position() { return position; }
    }

    private final String s;
    private int pos;

    private Json(String s) { this.s = s; }

    /** Parses one JSON value; only whitespace may follow it. */
    public static Object parse(String text) throws ParseException {
        Json p = new Json(text);
        p.skipWhitespace();
        Object v = p.value(0);
        p.skipWhitespace();
        if (p.pos != text.length()) throw p.error("unexpected " + p.describeHere() + " after the JSON value");
        return v;
    }

    /** A JSON string literal for s, escaped as serde_json does (so our headers match the reference writer's). */
    public static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }

    /** Human name of a parsed value's JSON type, for error messages. */
    public static String typeName(Object v) {
        if (v instanceof Map) return "an object";
        if (v instanceof List) return "an array";
        if (v instanceof String) return "a string";
        if (v instanceof Number) return "a number";
        if (v instanceof Boolean) return "a boolean";
        return "null";
    }

    // ---- grammar ------------------------------------------------------------------------------------

    private Object value(int depth) throws ParseException {
        if (depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH + " levels");
        if (pos >= s.length()) throw error("unexpected end of input, expected a value");
        char c = s.charAt(pos);
        return switch (c) {
            case '{' -> object(depth);
            case '[' -> array(depth);
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", NULL);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) yield number();
                throw error("unexpected " + describeHere() + ", expected a value");
            }
        };
    }

    private Map<String, Object> object(int depth) throws ParseException {
        pos++; // '{'
        Map<String, Object> m = new LinkedHashMap<>();
        skipWhitespace();
        if (peek() == '}') {
            pos++;
            return m;
        }
        while (true) {
            skipWhitespace();
            if (peek() != '"') throw error("unexpected " + describeHere() + ", expected a string key");
            int keyAt = pos;
            String key = string();
            skipWhitespace();
            expect(':');
            skipWhitespace();
            Object v = value(depth + 1);
            if (m.containsKey(key)) throw new ParseException("duplicate key " + quote(key), keyAt);
            m.put(key, v);
            skipWhitespace();
            char c = peek();
            pos++;
            if (c == '}') return m;
            if (c != ',') {
                pos--;
                throw error("unexpected " + describeHere() + " in object, expected ',' or '}'");
            }
        }
    }

    private List<Object> array(int depth) throws ParseException {
        pos++; // '['
        List<Object> a = new ArrayList<>();
        skipWhitespace();
        if (peek() == ']') {
            pos++;
            return Collections.unmodifiableList(a);
        }
        while (true) {
            skipWhitespace();
            a.add(value(depth + 1));
            skipWhitespace();
            char c = peek();
            pos++;
            if (c == ']') return Collections.unmodifiableList(a);
            if (c != ',') {
                pos--;
                throw error("unexpected " + describeHere() + " in array, expected ',' or ']'");
            }
        }
    }

    private String string() throws ParseException {
        int start = pos;
        pos++; // opening quote
        StringBuilder b = new StringBuilder();
        while (true) {
            if (pos >= s.length()) throw new ParseException("unterminated string", start);
            char c = s.charAt(pos++);
            if (c == '"') return b.toString();
            if (c < 0x20) throw new ParseException("raw control character U+" + String.format("%04X", (int) c) + " in string", pos - 1);
            if (Character.isSurrogate(c)) {
                // raw (unescaped) surrogates only arrive as well-formed pairs from a valid UTF-8 decode
                b.append(c);
                continue;
            }
            if (c != '\\') {
                b.append(c);
                continue;
            }
            if (pos >= s.length()) throw new ParseException("unterminated string", start);
            char e = s.charAt(pos++);
            switch (e) {
                case '"' -> b.append('"');
                case '\\' -> b.append('\\');
                case '/' -> b.append('/');
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'u' -> {
                    char u = hex4();
                    if (Character.isHighSurrogate(u)) {
                        if (!s.startsWith("\\u", pos)) throw error("lone high surrogate \\u" + hex(u) + " in string");
                        pos += 2;
                        char low = hex4();
                        if (!Character.isLowSurrogate(low)) throw error("high surrogate \\u" + hex(u) + " not followed by a low surrogate");
                        b.append(u).append(low);
                    } else if (Character.isLowSurrogate(u)) {
                        throw error("lone low surrogate \\u" + hex(u) + " in string");
                    } else {
                        b.append(u);
                    }
                }
                default -> throw new ParseException("invalid escape '\\" + e + "' in string", pos - 2);
            }
        }
    }

    private char hex4() throws ParseException {
        if (pos + 4 > s.length()) throw error("truncated \\u escape");
        int v = 0;
        for (int i = 0; i < 4; i++) {
            int d = Character.digit(s.charAt(pos + i), 16);
            if (d < 0) throw error("invalid hex digit in \\u escape");
            v = v * 16 + d;
        }
        pos += 4;
        return (char) v;
    }

    private static String hex(char c) { return String.format("%04x", (int) c); }

    private Object number() throws ParseException {
        int start = pos;
        if (peek() == '-') pos++;
        if (peek() == '0') {
            pos++;
        } else if (isDigit(peek())) {
            while (isDigit(peek())) pos++;
        } else {
            throw error("invalid number: expected a digit");
        }
        boolean integer = true;
        if (peek() == '.') {
            integer = false;
            pos++;
            if (!isDigit(peek())) throw error("invalid number: expected a digit after '.'");
            while (isDigit(peek())) pos++;
        }
        if (peek() == 'e' || peek() == 'E') {
            integer = false;
            pos++;
            if (peek() == '+' || peek() == '-') pos++;
            if (!isDigit(peek())) throw error("invalid number: expected a digit in the exponent");
            while (isDigit(peek())) pos++;
        }
        if (isDigit(peek())) throw error("invalid number: leading zero");
        String text = s.substring(start, pos);
        if (!integer) return new BigDecimal(text);
        BigInteger big = new BigInteger(text);
        return big.bitLength() < 64 ? (Object) big.longValue() : big;
    }

    private Object literal(String word, Object v) throws ParseException {
        if (!s.startsWith(word, pos)) throw error("unexpected " + describeHere() + ", expected a value");
        pos += word.length();
        return v;
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private static boolean isDigit(char c) { return c >= '0' && c <= '9'; }

    /** The current character, or NUL at end of input (NUL never matches any expected token). */
    private char peek() { return pos < s.length() ? s.charAt(pos) : '\0'; }

    private void expect(char c) throws ParseException {
        if (peek() != c) throw error("unexpected " + describeHere() + ", expected '" + c + "'");
        pos++;
    }

    private void skipWhitespace() {
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
            pos++;
        }
    }

    private String describeHere() {
        if (pos >= s.length()) return "end of input";
        char c = s.charAt(pos);
        return c < 0x20 || c > 0x7e ? String.format("character U+%04X", (int) c) : "'" + c + "'";
    }

    private ParseException error(String message) { return new ParseException(message, pos); }
}
