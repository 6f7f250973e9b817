import { createTempRoot } from "./temp-root";

export default function globalSetup(): void {
  createTempRoot();
}
