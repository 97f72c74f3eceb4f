using System.CommandLine;
using System.Globalization;
using Skiff.Cli.Client;

namespace Skiff.Cli.Commands;

/// <summary><c>skiff image import|ls|rm</c>: the server's local image store (tasks name an image with <c>--image</c>).</summary>
internal sealed class ImageCommands
{
    private readonly CliEnvironment _environment;
    private readonly ClientOptions _client;

    public ImageCommands(CliEnvironment environment, ClientOptions client)
    {
        _environment = environment;
        _client = client;
        Command = new Command("image", "Images: import OCI or docker save tarballs, list and remove them")
        {
            CreateImport(), CreateList(), CreateRemove(),
        };
    }

    public Command Command { get; }

    private Command CreateImport()
    {
        var name = new Argument<string>("NAME") { Description = "NAME[:TAG] (tag 'latest' when omitted); lowercase letters, digits, '.', '_', '-', '/'" };
        var file = new Argument<string>("FILE") { Description = "An OCI image layout tarball or a docker save tarball (optionally gzip-compressed)" };
        var force = new Option<bool>("--force") { Description = "Replace the tag if it already names other content (tags are immutable otherwise)" };
        var command = new Command("import", "Import an image tarball into the server's store (admin only)") { name, file, force };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var path = _environment.FullPath(parseResult.GetRequiredValue(file));
            FileStream archive;
            try
            {
                archive = File.OpenRead(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"FILE: cannot read {parseResult.GetRequiredValue(file)}: {e.Message}", e);
            }
            await using (archive)
            {
                using var client = _client.CreateClient(parseResult, _environment);
                var import = await client.ImportImageAsync(parseResult.GetRequiredValue(name), archive, parseResult.GetValue(force), cancellationToken);
                _environment.Out.WriteLine($"{import.Image.Name}:{import.Image.Tag} {import.Outcome} {import.Image.Digest} ({Size(import.Image.Size)})");
                foreach (var pruned in import.Pruned)
                {
                    _environment.Out.WriteLine($"{pruned.Name}:{pruned.Tag} removed (keeping the newest versions)");
                }
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateList()
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var command = new Command("ls", "List images: built-ins first, then every version of each name, newest first") { json };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            var images = await client.ListImagesAsync(cancellationToken);
            if (parseResult.GetValue(json))
            {
                _environment.Out.WriteLine(SkiffJsonContext.ToIndentedJson(images));
                return ExitCodes.Success;
            }
            PlainTable.Write(_environment.Out, ["NAME", "TAG", "DIGEST", "SIZE", "CREATED", "SOURCE"],
                images.Items.Select(i => (IReadOnlyList<string>)
                [
                    i.Name, i.Tag, i.Digest.Length > 19 ? i.Digest[..19] : i.Digest, Size(i.Size),
                    i.CreatedAt.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture), i.Source,
                ]).ToList());
            return ExitCodes.Success;
        });
        return command;
    }

    private Command CreateRemove()
    {
        var name = new Argument<string>("NAME") { Description = "NAME:TAG removes that version; NAME alone removes every version" };
        var command = new Command("rm", "Remove an image (admin only; built-in images cannot be removed)") { name };
        _client.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            using var client = _client.CreateClient(parseResult, _environment);
            await client.DeleteImageAsync(parseResult.GetRequiredValue(name), cancellationToken);
            _environment.Out.WriteLine($"{parseResult.GetRequiredValue(name)} removed");
            return ExitCodes.Success;
        });
        return command;
    }

    private static string Size(long bytes) => bytes switch
    {
        < 1024 => bytes.ToString(CultureInfo.InvariantCulture) + " B",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.#", CultureInfo.InvariantCulture) + " KiB",
        _ => (bytes / 1024.0 / 1024.0).ToString("0.#", CultureInfo.InvariantCulture) + " MiB",
    };
}
