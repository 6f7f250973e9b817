import * as fs from "fs";
import * as path from "path";
import { copyFileAtomic, writeFileAtomic } from "../../../scripts/shared/files";
import { tempDir } from "../../support/app";

describe("writeFileAtomic / copyFileAtomic", () => {
  const dir = tempDir("files");
  const leftovers = () => fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"));

  test("writes the file and leaves no temporary file", () => {
    const file = path.join(dir, "a.txt");
    expect(writeFileAtomic(file, "one\n")).toBe(true);
    expect(fs.readFileSync(file, "utf8")).toBe("one\n");
    expect(writeFileAtomic(file, "two\n")).toBe(true);
    expect(fs.readFileSync(file, "utf8")).toBe("two\n");
    expect(leftovers()).toEqual([]);
  });

  test("unlessSame: a file that holds the text already is not rewritten (same inode, same mtime)", () => {
    const file = path.join(dir, "same.txt");
    writeFileAtomic(file, "x");
    const before = fs.statSync(file);
    expect(writeFileAtomic(file, "x", { unlessSame: true })).toBe(false);
    const after = fs.statSync(file);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    // Different text: replaced by a rename (a new inode), not rewritten in place.
    expect(writeFileAtomic(file, "y", { unlessSame: true })).toBe(true);
    expect(fs.statSync(file).ino).not.toBe(before.ino);
    expect(fs.readFileSync(file, "utf8")).toBe("y");
  });

  test("a failed rename leaves the target as it was and no temporary file", () => {
    const target = path.join(dir, "a-folder");
    fs.mkdirSync(path.join(target, "inside"), { recursive: true });
    expect(() => writeFileAtomic(target, "text")).toThrow(/EISDIR|ENOTEMPTY|EEXIST|EPERM/);
    expect(fs.statSync(target).isDirectory()).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  test("copyFileAtomic copies the bytes, replacing the target", () => {
    const from = path.join(dir, "from.bin");
    const to = path.join(dir, "to.bin");
    fs.writeFileSync(from, Buffer.from([0, 1, 2, 255]));
    fs.writeFileSync(to, "old");
    copyFileAtomic(from, to);
    expect(fs.readFileSync(to)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(leftovers()).toEqual([]);
  });
});
