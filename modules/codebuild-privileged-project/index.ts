export * from "./codebuild-privileged-project";
