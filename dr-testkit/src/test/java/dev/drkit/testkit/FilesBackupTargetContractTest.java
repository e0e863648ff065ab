package dev.drkit.testkit;

class FilesBackupTargetContractTest extends FilesTargetContractSupport {}
