using System.Formats.Tar;
using System.Globalization;
using System.Text;

namespace Skiff.Server.Tests.Hardening;

/// <summary>
/// The hostile inputs the fuzz test draws from: path segments, query strings, header values, JSON values and
/// whole bodies. Percent-encoded strings are sent as written; strings holding chars 0x80–0xFF are sent as
/// those single bytes (Latin-1), which is how invalid UTF-8 reaches the server.
/// </summary>
internal static class HostileCatalog
{
    public const string SqlOr = "' OR 1=1 --";
    public const string SqlDrop = "\"; DROP TABLE tasks; --";

    /// <summary>Values for one path parameter, already in URL form.</summary>
    public static readonly string[] PathValues =
    [
        // Traversal, encoded every way a decoder might undo.
        "..%2F..%2F..%2F..%2Fetc%2Fpasswd", "..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "%2e%2e", "%2E%2E", "%2e",
        "..", ".", "..%5C..%5Cwindows%5Cwin.ini", "%2Fetc%2Fpasswd", "%252e%252e%252fetc%252fpasswd", "..%c0%af..%c0%afetc%c0%afpasswd",
        "%u002e%u002e%u2215etc", "..;", "..%3B", ".git", "CON", "..%00", "..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2Froot%2F.ssh",
        // NUL and control characters.
        "%00", "a%00b", "t_%00", "%0D%0ASet-Cookie:%20injected%3D1", "%0A", "%09", "%7F",
        // Invalid UTF-8 once percent-decoded: lone continuation, overlong, surrogate, truncated, beyond U+10FFFF.
        "%C3%28", "%FF%FE%FD", "%80", "%C0%AE%C0%AE", "%ED%A0%80", "%E2%82", "%F4%90%80%80", "%F0%9F%92%A9",
        // SQL metacharacters.
        "%27%20OR%201%3D1%20--", "'%20OR%20'1'%3D'1", "%22%3B%20DROP%20TABLE%20tasks%3B%20--", "1%3B%20DELETE%20FROM%20users", "'", "%27", "%22", "%5C",
        "t_00000000000000000000000000%27%20OR%20%271%27%3D%271", "%25", "%", "%zz", "%2", "_", "%5F", "%25%5F%25",
        // Odd but well-formed.
        "+", "%20", "~", "*", "%2A", "$(id)", "%60id%60", "%7B%7D", "null", "undefined", "-1", "0", "99999999999999999999", "1e309", "NaN",
        new string('a', 2000), new string('x', 7000),
    ];

    /// <summary>Extra values for a catch-all parameter, which may hold raw '/'.</summary>
    public static readonly string[] CatchAllValues =
    [
        "../../../../etc/passwd", "/etc/passwd", "a/../../../etc/passwd", "sub/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "a//b", "./a", "a/./b",
        "a\\..\\..\\b", "..%2F/..%2F/etc/passwd", "sub/..%00/x", "%2F%2F%2Fetc/passwd",
    ];

    /// <summary>Query strings (without '?') sent whole.</summary>
    public static readonly string[] FixedQueries =
    [
        "", "&&&", "=", "==", "%00=%00", "limit=1&limit=2", "limit[]=1", "limit%5B%5D=1", "%FF=1", "a=%FF%FE", "cursor=%C3%28",
        "q=" + new string('q', 7000), "limit=" + new string('9', 5000), "status=queued&status=running", "follow=true&follow=false",
    ];

    public static readonly string[] QueryNames =
    [
        "limit", "cursor", "status", "priority", "userId", "follow", "timestamps", "cancelTasks", "name", "q", "since", "until",
        "before", "after", "type", "page", "offset", "id", "key", "role", "sort", "filter", "action", "version", "reveal",
    ];

    public static readonly string[] QueryValues =
    [
        "%27%20OR%201%3D1%20--", "%22%3B%20DROP%20TABLE%20tasks%3B%20--", "1%20UNION%20SELECT%20*%20FROM%20api_keys", "..%2F..%2Fetc%2Fpasswd",
        "99999999999999999999", "1e309", "-1", "0", "-9223372036854775809", "9223372036854775808", "NaN", "0x10", "1.5", "%201", "%2B1",
        "%FF", "%C3%28", "%ED%A0%80", "%00", "", "true", "TRUE", "yes", "%25", "%", "null", "%5B%5D", "%7B%7D",
    ];

    /// <summary>JSON values (as JSON text) put into each known field in turn.</summary>
    public static readonly string[] JsonValues =
    [
        "null", "true", "false", "0", "-0", "-1", "1.5", "1e309", "-1e309", "1e-400", "99999999999999999999", "-99999999999999999999",
        "2147483648", "-2147483649", "9223372036854775808", "1E+2",
        "\"\"", "\" \"", Json(SqlOr), Json(SqlDrop), Json("Robert'); DROP TABLE users;--"), Json("../../../../etc/passwd"), Json("/etc/passwd"),
        Json("..\\..\\windows\\win.ini"), "\"\\u0000\"", "\"a\\u0000b\"", "\"\\ud800\"", "\"\\udfff\\ud800\"", Json("<script>alert(1)</script>"),
        Json("${jndi:ldap://127.0.0.1/x}"), Json("$(reboot)"), Json("%00"), Json(new string('s', 10_000)), "\"true\"", "\"1\"", "\"1e309\"",
        "[]", "[null]", "[1]", $"[{Json(SqlOr)}]", $"[{Json(SqlDrop)}, {Json("../../etc/passwd")}]", "[[[]]]", "[{}]", "[\"a\\u0000\"]",
        "{}", $"{{{Json(SqlOr)}:{Json(SqlDrop)}}}", "{\"a\":{\"b\":{\"c\":1}}}", "{\"\":\"\"}", "{\"x\":null}", "{\"A=B\":\"x\"}",
        "{\"k\":\"\\ud800\"}", "[\"\\udfff\"]", "{\"\\ud800\":\"x\"}", "{\"k\":\"\\u0000\"}",
    ];

    /// <summary>Strings put into every string-typed field at once.</summary>
    public static readonly string[] EveryStringValues =
    [
        SqlOr, SqlDrop, "../../../../etc/passwd", "a\u0000b", new string('z', 50_000), "\u202Egnp.exe", "\ud83d\udca9",
    ];

    /// <summary>Bodies that are not JSON, or not the JSON anyone expects.</summary>
    public static readonly string[] MalformedBodies =
    [
        "{", "}", "[", "]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "{'a':1}", "nul", "tru", "{\"a\":1,}", "[1,]", "{\"a\":1}{\"b\":2}",
        "{} garbage", "\"just a string\"", "123", "-", "1e309", "-1e309", "/* comment */ {}", "{\"a\":NaN}", "{\"a\":Infinity}",
        "{\"a\":01}", "{\"a\":.5}", "{\"a\":0x10}", "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"unterminated}", "\uFEFF{}",
        "{\"__proto__\":{\"admin\":true}}", "{\"constructor\":{\"prototype\":{}}}", "   ", "\r\n", "\u0000", "{\"a\":\"\u0001\"}",
        "<?xml version=\"1.0\"?><task/>", "command=true&priority=1", "null", "[]", "[{}]", "true",
    ];

    /// <summary>Content types sent with a JSON body.</summary>
    public static readonly string[] ContentTypes =
    [
        "text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=----x",
        "application/json; charset=utf-16", "application/json; charset=bogus", "application/jsonp", "json", ";", "application/json, text/plain",
        "APPLICATION/JSON", "application/problem+json", "application/merge-patch+json", "*/*", "\u00ff/\u00fe", "application/json; boundary=\"\u00c3\u0028\"",
    ];

    /// <summary>Authorization headers that must never authenticate.</summary>
    public static IEnumerable<string> HostileAuthorizations(string adminKey) =>
    [
        "Bearer " + SqlOr, "Bearer sk_' OR '1'='1", "Bearer " + new string('k', 300), "Bearer \u00c3\u0028\u00ff", "Bearer sk_%00",
        "Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer    ", "Bearer " + adminKey.ToUpperInvariant(), "Bearer " + adminKey + "x",
        "Bearer " + adminKey[..^1], "Token " + adminKey, adminKey, "Bearer " + adminKey[..Math.Min(12, adminKey.Length)],
        "Bearer " + adminKey + ", Bearer sk_other", "Bearer *", "Bearer %", "Bearer sk_\u00c0\u00af",
    ];

    /// <summary>Deeply nested and merely deep documents.</summary>
    public static IEnumerable<(string Name, string Body)> NestedBodies()
    {
        yield return ("10,000 '['", new string('[', 10_000));
        yield return ("10,000 '{\"a\":'", string.Concat(Enumerable.Repeat("{\"a\":", 10_000)));
        yield return ("1,000 balanced arrays", new string('[', 1000) + new string(']', 1000));
        yield return ("65 balanced objects", string.Concat(Enumerable.Repeat("{\"a\":", 65)) + "1" + new string('}', 65));
        yield return ("63 balanced arrays", new string('[', 63) + new string(']', 63));
    }

    /// <summary>Bytes that are not valid UTF-8, in values and keys, with <paramref name="field"/> as the key.</summary>
    public static IEnumerable<(string Name, byte[] Body)> InvalidUtf8Bodies(string field)
    {
        var key = Encoding.UTF8.GetBytes("{\"" + field + "\":\"");
        byte[] End = Encoding.UTF8.GetBytes("\"}");
        byte[] Wrap(params byte[] inner) => [.. key, .. inner, .. End];
        yield return ("lone continuation", Wrap(0x80));
        yield return ("C3 28", Wrap(0xC3, 0x28));
        yield return ("overlong '/'", Wrap(0xC0, 0xAF));
        yield return ("UTF-8 surrogate", Wrap(0xED, 0xA0, 0x80));
        yield return ("beyond U+10FFFF", Wrap(0xF4, 0x90, 0x80, 0x80));
        yield return ("F5-FF", Wrap(0xF5, 0xFE, 0xFF));
        yield return ("raw NUL", Wrap(0x00));
        yield return ("truncated at the end", [.. key, 0xE2, 0x82]);
        yield return ("invalid key", [.. "{\""u8, 0xFF, .. "\":1}"u8]);
        yield return ("UTF-16LE with BOM", [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("{\"" + field + "\":\"x\"}")]);
        yield return ("UTF-32", Encoding.UTF32.GetBytes("{\"" + field + "\":1}"));
        yield return ("FF FE start", [0xFF, 0xFE, .. "{}"u8]);
    }

    /// <summary>
    /// Where a hostile archive's entries try to write outside any extraction directory (through "../", an
    /// absolute name, a symlink); none of these may exist after the run.
    /// </summary>
    public static IReadOnlyList<string> EscapePaths(int seed)
    {
        var name = "skiff-fuzz-escape-" + seed.ToString(CultureInfo.InvariantCulture);
        return [Path.Combine(Path.GetTempPath(), name + "-dots"), Path.Combine(Path.GetTempPath(), name + "-absolute"), Path.Combine(Path.GetTempPath(), name + "-link")];
    }

    /// <summary>Bodies for endpoints that take archives (application/x-tar): broken, lying and escaping tarballs.</summary>
    public static IEnumerable<(string Name, byte[] Body, bool CutOff)> ArchiveBodies(int seed, Random random)
    {
        var escapes = EscapePaths(seed);
        var up = string.Concat(Enumerable.Repeat("../", 40));
        (string, byte[])[] layout = [("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"u8.ToArray()), ("index.json", "{\"schemaVersion\":2,\"manifests\":[]}"u8.ToArray())];
        yield return ("empty", [], false);
        yield return ("random bytes", RandomBytes(random, 4096), false);
        yield return ("JSON", "{}"u8.ToArray(), false);
        yield return ("only end-of-archive blocks", new byte[1024], false);
        yield return ("gzip magic, then noise", [0x1F, 0x8B, 0x08, .. RandomBytes(random, 512)], false);
        yield return ("entry out through ../", Tar([.. layout, (up + escapes[0].TrimStart('/'), "escaped"u8.ToArray())]), false);
        yield return ("entry with an absolute name", Tar([.. layout, (escapes[1], "escaped"u8.ToArray())]), false);
        yield return ("file through a symlink out", Tar(layout, link: ("out", Path.GetDirectoryName(escapes[2])!), after: ("out/" + Path.GetFileName(escapes[2]), "escaped"u8.ToArray())), false);
        yield return ("hard link to /etc/passwd", Tar(layout, hardLink: ("passwd", "/etc/passwd")), false);
        yield return ("device node", Tar(layout, device: "null"), false);
        var valid = Tar([.. layout, ("blobs/sha256/0000", "x"u8.ToArray())]);
        yield return ("truncated in a header", valid[..100], false);
        yield return ("truncated in the data", valid[..600], false);
        var badChecksum = (byte[])valid.Clone();
        badChecksum[148] ^= 0x7F; // The first header's checksum field.
        yield return ("bad checksum", badChecksum, false);
        yield return ("size claims 8 GB", SizeClaims8GB(valid), false);
        yield return ("2 MB of zeros", new byte[2 * 1024 * 1024], true);
    }

    /// <summary>A small valid OCI layout tarball.</summary>
    public static byte[] SmallLayoutTar() =>
        Tar([("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"u8.ToArray()), ("index.json", "{\"schemaVersion\":2,\"manifests\":[]}"u8.ToArray())]);

    /// <summary><paramref name="tar"/> whose first header's size field claims 8 GB.</summary>
    public static byte[] SizeClaims8GB(byte[] tar)
    {
        var lying = (byte[])tar.Clone();
        Encoding.ASCII.GetBytes("77777777777").CopyTo(lying, 124);
        return lying;
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Tar(
        IEnumerable<(string Name, byte[] Data)> files,
        (string Name, string Target)? link = null,
        (string Name, byte[] Data)? after = null,
        (string Name, string Target)? hardLink = null,
        string? device = null)
    {
        using var stream = new MemoryStream();
        using (var writer = new TarWriter(stream, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, data) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            }
            if (link is { } symlink)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, symlink.Name) { LinkName = symlink.Target });
            }
            if (after is { } file)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, file.Name) { DataStream = new MemoryStream(file.Data) });
            }
            if (hardLink is { } hard)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.HardLink, hard.Name) { LinkName = hard.Target });
            }
            if (device is not null)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.CharacterDevice, device) { DeviceMajor = 1, DeviceMinor = 3 });
            }
        }
        return stream.ToArray();
    }

    public static string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value);
}
