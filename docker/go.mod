module codebuild-sample-app

go 1.19
