package dvp.engine.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.core.io.JsonEOFException;

import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The strict JSON reading of safetensors headers, which are untrusted input: jackson-core's
 * streaming parser with duplicate keys refused ({@link StreamReadFeature#STRICT_DUPLICATE_DETECTION})
 * and {@link StreamReadConstraints} on nesting, string and number length, plus the two checks it
 * leaves to us: only whitespace after the value, and no lone UTF-16 surrogate from a backslash-u
 * escape (which could not be written back as UTF-8). Its errors become one line that says what was
 * expected and at which character, as before: "unexpected end of input, expected a string key at
 * character 20", "duplicate key \"w\" at character 59".
 *
 * <p>Values map to: object → {@code LinkedHashMap<String,Object>} (document order kept),
 * array → {@code List<Object>}, string → {@code String}, integer → {@code Long} when it fits, else
 * {@code BigInteger}; a number with a fraction or exponent → {@code BigDecimal};
 * {@code true/false} → {@code Boolean}; {@code null} → {@link #NULL}. Also quotes strings as
 * serde_json does, for the safetensors writer's headers.
 */
public final class HeaderJson {
    /** The JSON {@code null} (Java null is reserved for "absent"). */
    public static final Object NULL = new Object() {
        @Override public String toString() { return "null"; }
    };

    /** Nesting beyond this is rejected instead of overflowing the stack on hostile input. */
    static final int MAX_DEPTH = 64;
    /** Longer numbers are rejected (a shape or offset has at most 20 digits). */
    static final int MAX_NUMBER_LENGTH = 100;
    /** The header limit: a string cannot be longer than the header. */
    static final int MAX_STRING_LENGTH = (int) SafetensorsHeader.MAX_HEADER_BYTES;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).maxNumberLength(MAX_NUMBER_LENGTH)
                    .maxStringLength(MAX_STRING_LENGTH).build())
            .build();
    private static final Pattern DUPLICATE = Pattern.compile("Duplicate (?:field|Object property) [\"']([^\"']*)[\"']");
    private static final Pattern UNEXPECTED_CODE = Pattern.compile("\\(code (\\d+)\\)");
    private static final Pattern UNRECOGNIZED_TOKEN = Pattern.compile("Unrecognized token '([^']+)'");

    /** A syntax error; {@link #position()} is the character index in the parsed text. */
    public static final class ParseException extends Exception {
        private final int position;

        ParseException(String message, int position) {
            super(message + " at character " + position);
            this.position = position;
        }

        public int position() { return position; }
    }

    private final String text;
    private final JsonParser p;

    private HeaderJson(String text, JsonParser p) {
        this.text = text;
        this.p = p;
    }

    /** Parses one JSON value; only whitespace may follow it. */
    public static Object parse(String text) throws ParseException {
        try (JsonParser p = FACTORY.createParser(text)) {
            HeaderJson r = new HeaderJson(text, p);
            try {
                JsonToken t = p.nextToken();
                if (t == null) throw new ParseException("unexpected end of input, expected a value", text.length());
                Object v = r.value(t);
                int end = (int) p.currentLocation().getCharOffset();
                for (int i = end; i < text.length(); i++)
                    if (!isWhitespace(text.charAt(i))) throw new ParseException("unexpected " + describe(text, i) + " after the JSON value", i);
                return v;
            } catch (StreamConstraintsException e) {
                throw r.constraint(e);
            } catch (StreamReadException e) {
                throw r.translate(e);
            }
        } catch (IOException e) {
            throw new ParseException("unreadable: " + e.getMessage(), 0);
        }
    }

    private Object value(JsonToken t) throws IOException, ParseException {
        return switch (t) {
            case START_OBJECT -> object();
            case START_ARRAY -> array();
            case VALUE_STRING -> string(p.getText());
            case VALUE_NUMBER_INT -> {
                BigInteger big = p.getBigIntegerValue();
                yield big.bitLength() < 64 ? (Object) big.longValue() : big;
            }
            case VALUE_NUMBER_FLOAT -> p.getDecimalValue();
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NULL -> NULL;
            default -> throw new ParseException("unexpected " + t + ", expected a value", offset());
        };
    }

    private Map<String, Object> object() throws IOException, ParseException {
        Map<String, Object> m = new LinkedHashMap<>();
        for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
            String key = string(p.currentName()); // the parser only gives names here, and refuses duplicates
            m.put(key, value(p.nextToken()));
        }
        return m;
    }

    private List<Object> array() throws IOException, ParseException {
        List<Object> a = new ArrayList<>();
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) a.add(value(t));
        return Collections.unmodifiableList(a);
    }

    /** s, unless a backslash-u escape left half a surrogate pair in it. */
    private String string(String s) throws ParseException {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                    continue;
                }
                throw new ParseException("lone high surrogate \\u" + hex(c) + " in string", tokenStart());
            }
            if (Character.isLowSurrogate(c)) throw new ParseException("lone low surrogate \\u" + hex(c) + " in string", tokenStart());
        }
        return s;
    }

    private ParseException constraint(StreamConstraintsException e) {
        String m = e.getOriginalMessage();
        if (m.contains("nesting depth")) return new ParseException("nesting deeper than " + MAX_DEPTH + " levels", offset(e));
        if (m.contains("Number value length")) return new ParseException("number longer than " + MAX_NUMBER_LENGTH + " characters", offset(e));
        if (m.contains("String value length")) return new ParseException("string longer than " + MAX_STRING_LENGTH + " characters", offset(e));
        return new ParseException(oneLine(m), offset(e));
    }

    /** Jackson's message as ours: what was found, what was expected, where. */
    private ParseException translate(StreamReadException e) {
        String m = e.getOriginalMessage();
        int at = offset(e);
        Matcher dup = DUPLICATE.matcher(m);
        if (dup.find()) {
            // the position of the second occurrence of the key, which Jackson has just read
            int key = text.lastIndexOf(quote(dup.group(1)), Math.min(at, text.length()));
            return new ParseException("duplicate key " + quote(dup.group(1)), key >= 0 ? key : at);
        }
        if (e instanceof JsonEOFException || at >= text.length() || m.contains("end-of-input")) {
            if (m.contains("closing quote")) return new ParseException("unterminated string", text.lastIndexOf('"')); // its opening quote
            return new ParseException("unexpected end of input" + expected(text.length()), text.length());
        }
        if (m.startsWith("Illegal unquoted character")) {
            int c = text.charAt(Math.min(at, text.length() - 1));
            int i = at;
            while (i > 0 && text.charAt(i) >= 0x20) i--; // Jackson points just after the character
            c = text.charAt(i);
            return new ParseException("raw control character U+" + String.format("%04X", c) + " in string", i);
        }
        if (m.startsWith("Unrecognized character escape")) {
            int i = text.lastIndexOf('\\', Math.min(at, text.length() - 1));
            return new ParseException("invalid escape '\\" + (i >= 0 && i + 1 < text.length() ? text.charAt(i + 1) : '?') + "' in string", Math.max(i, 0));
        }
        if (m.contains("Invalid numeric value: Leading zeroes")) return new ParseException("invalid number: leading zero", at);
        if (m.contains("Decimal point not followed by a digit")) return new ParseException("invalid number: expected a digit after '.'", at);
        if (m.contains("Exponent indicator not followed by a digit")) return new ParseException("invalid number: expected a digit in the exponent", at);
        if (m.contains("expected a hex-digit")) return new ParseException("invalid hex digit in \\u escape", at);
        Matcher code = UNEXPECTED_CODE.matcher(m), token = UNRECOGNIZED_TOKEN.matcher(m);
        int here = firstNonWhitespace(at - 1);
        if (token.find() && text.lastIndexOf(token.group(1), Math.min(at, text.length())) >= 0) {
            here = text.lastIndexOf(token.group(1), Math.min(at, text.length())); // a misspelt literal: where it starts
        } else if (code.find()) {
            // Jackson names the character it met; find it where it stopped
            int i = Math.min(at, text.length() - 1);
            while (i > 0 && text.charAt(i) != (char) Integer.parseInt(code.group(1))) i--;
            here = i;
        }
        return new ParseException("unexpected " + describe(text, here) + expected(here), here);
    }

    /** What the grammar wanted at {@code at}, from the parser's context and the last character before it. */
    private String expected(int at) {
        var ctx = p.getParsingContext();
        char last = lastNonWhitespace(at);
        if (ctx.inObject()) {
            if (last == '{' || last == ',') return ", expected a string key";
            if (last == '"' && p.currentToken() == JsonToken.FIELD_NAME) return ", expected ':'";
            if (last == ':') return ", expected a value";
            return " in object, expected ',' or '}'";
        }
        if (ctx.inArray()) return last == '[' || last == ',' ? ", expected a value" : " in array, expected ',' or ']'";
        return ", expected a value";
    }

    /** The last non-whitespace character before position {@code at}. */
    private char lastNonWhitespace(int at) {
        for (int i = Math.min(at, text.length()) - 1; i >= 0; i--) if (!isWhitespace(text.charAt(i))) return text.charAt(i);
        return '\0';
    }

    /** The first non-whitespace character at or after i (clamped into the text). */
    private int firstNonWhitespace(int i) {
        int j = Math.max(0, i);
        while (j < text.length() && isWhitespace(text.charAt(j))) j++;
        return j;
    }

    private int offset() { return (int) p.currentLocation().getCharOffset(); }

    private int tokenStart() { return (int) p.currentTokenLocation().getCharOffset(); }

    private int offset(com.fasterxml.jackson.core.JsonProcessingException e) {
        return e.getLocation() == null ? offset() : (int) e.getLocation().getCharOffset();
    }

    private static boolean isWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

    private static String describe(String s, int i) {
        if (i >= s.length()) return "end of input";
        char c = s.charAt(i);
        return c < 0x20 || c > 0x7e ? String.format("character U+%04X", (int) c) : "'" + c + "'";
    }

    private static String hex(char c) { return String.format("%04x", (int) c); }

    private static String oneLine(String s) { return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", "; "); }

    /** Human name of a parsed value's JSON type, for error messages. */
    public static String typeName(Object v) {
        if (v instanceof Map) return "an object";
        if (v instanceof List) return "an array";
        if (v instanceof String) return "a string";
        if (v instanceof Number) return "a number";
        if (v instanceof Boolean) return "a boolean";
        return "null";
    }

    /** A JSON string literal for s, escaped as serde_json does (so our headers match the reference writer's, byte for byte). */
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
}
