import { execFileSync } from "child_process";

/**
 * Writes a one-layer OCI image layout into `dir` (one file, /hello.txt, holding `content`),
 * tagged `ref`, with python3's tarfile and gzip (reproducible: mtime 0); returns the manifest's
 * digest and the layer's size. What skopeo pushes in the registry tests, without an image build.
 */
export function writeOciLayout(dir: string, ref: string, content: string): { digest: string; layerSize: number } {
  const [digest, size] = execFileSync("python3", ["-c", OCI_LAYOUT_PY, dir, ref, content], { encoding: "utf8" }).trim().split(" ");
  return { digest, layerSize: Number(size) };
}

/** The Python of {@link writeOciLayout}: `python3 -c "$OCI_LAYOUT_PY" <dir> <ref> <content>` prints the manifest's digest and the layer's size. */
export const OCI_LAYOUT_PY = `
import io, tarfile, gzip, hashlib, json, os, sys
out, ref, content = sys.argv[1], sys.argv[2], sys.argv[3].encode()
os.makedirs(f"{out}/blobs/sha256", exist_ok=True)
def blob(b):
    d = hashlib.sha256(b).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(b)
    return "sha256:" + d, len(b)
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w") as t:
    info = tarfile.TarInfo("hello.txt"); info.size = len(content); t.addfile(info, io.BytesIO(content))
layer, layer_size = blob(gzip.compress(raw.getvalue(), mtime=0))
config, config_size = blob(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()]}, "config": {}}).encode())
manifest, manifest_size = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size}, "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": layer_size}]}).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest, "size": manifest_size, "annotations": {"org.opencontainers.image.ref.name": ref}}]}, open(f"{out}/index.json", "w"))
open(f"{out}/oci-layout", "w").write('{"imageLayoutVersion": "1.0.0"}')
print(manifest, layer_size)
`;
