export * from "./codebuild-dind-project";
