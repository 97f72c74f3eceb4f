namespace Skiff.Server;

/// <summary>How <c>skiff server</c> was started (flags, then environment, then defaults).</summary>
public sealed record ServerOptions
{
    public const string DefaultUrl = "http://127.0.0.1:7070";

    /// <summary>Data directory: the SQLite file, admin key, task work and output directories.</summary>
    public string DataDirectory { get; init; } = ".skiff";

    public string Urls { get; init; } = DefaultUrl;

    /// <summary>Most tasks run at once by the embedded worker; default: the number of cores.</summary>
    public int? MaxWorkers { get; init; }

    /// <summary>"auto" or "runc" (a runc container per attempt; the server refuses to start without runc) or "process" (no isolation).</summary>
    public string Executor { get; init; } = "auto";

    /// <summary>Warm containers per task shape (runc); null: the "Skiff:WarmPool" setting (default 0).</summary>
    public int? WarmPool { get; init; }

    /// <summary>argv prefix that runs the skiff CLI (for built-in workloads: PREFIX workload TYPE ...). Null: this process.</summary>
    public IReadOnlyList<string>? SkiffCommand { get; init; }

    /// <summary>PEM certificate (leaf first, then any intermediates) served on https:// URLs; needs <see cref="TlsKeyFile"/>.</summary>
    public string? TlsCertificateFile { get; init; }

    /// <summary>PEM private key of <see cref="TlsCertificateFile"/>.</summary>
    public string? TlsKeyFile { get; init; }

    /// <summary>Browser origins allowed to call the API (CORS); passed on as the "Skiff:CorsOrigins" setting.</summary>
    public IReadOnlyList<string>? CorsOrigins { get; init; }
}
