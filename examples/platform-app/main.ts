import { App } from "cdktf";
import { ToolsStack } from "./stacks/tools-stack";
import { WorkloadStack } from "./stacks/workload-stack";

// One stack per account: tools (builds and owns the image), workload (pulls it).
const app = new App();
new ToolsStack(app, "tools");
new WorkloadStack(app, "workload");
app.synth();
