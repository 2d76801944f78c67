"""``SampleData`` (a Slicer scripted module, not in ``slicer-python``): its registration API.

Only what extensions call: ``SampleDataLogic.registerCustomSampleDataSource`` with the real
keyword arguments and ``SampleDataSource``'s checks (every per-file list the same length),
stored in ``slicer.modules.sampleDataSources`` by category as Slicer does. What the Sample
Data panel's thumbnail button does is :func:`click_sample` (a custom downloader is called;
a network download is not stood in).
"""

from __future__ import annotations

import types

from .qobject import NotStoodIn


class SampleDataSource:
    def __init__(
        self,
        sampleName=None,
        sampleDescription=None,
        uris=None,
        fileNames=None,
        nodeNames=None,
        checksums=None,
        loadFiles=None,
        customDownloader=None,
        thumbnailFileName=None,
        loadFileType=None,
        loadFileProperties=None,
    ):
        if isinstance(uris, str):
            uris, fileNames, nodeNames = [uris], [fileNames], [nodeNames]
            loadFiles, loadFileType, checksums = [loadFiles], [loadFileType], [checksums]
        if not isinstance(uris, list | tuple):
            raise TypeError("SampleDataSource needs uris (a string or a list)")
        n = len(uris)
        nodeNames = nodeNames if nodeNames is not None else [None] * n
        loadFiles = loadFiles if loadFiles is not None else [None] * n
        checksums = checksums if checksums is not None else [None] * n
        if isinstance(loadFileType, str) or loadFileType is None:
            loadFileType = [loadFileType] * n
        if not n == len(fileNames) == len(nodeNames) == len(loadFiles) == len(checksums):
            raise ValueError("All fields of sample data source must have the same length")
        self.sampleName = sampleName
        self.sampleDescription = sampleDescription or sampleName
        self.uris, self.fileNames, self.nodeNames = list(uris), list(fileNames), list(nodeNames)
        self.checksums, self.loadFiles, self.loadFileType = checksums, loadFiles, loadFileType
        self.customDownloader = customDownloader
        self.thumbnailFileName = thumbnailFileName
        self.loadFileProperties = loadFileProperties or {}


class SampleDataLogic:
    @staticmethod
    def registerCustomSampleDataSource(
        category="Custom",
        sampleName=None,
        uris=None,
        fileNames=None,
        nodeNames=None,
        customDownloader=None,
        thumbnailFileName=None,
        loadFileType="VolumeFile",
        loadFiles=None,
        loadFileProperties={},  # noqa: B006 (Slicer's signature)
        checksums=None,
    ):
        import slicer

        sources = getattr(slicer.modules, "sampleDataSources", None)
        if sources is None:
            sources = slicer.modules.sampleDataSources = {}
        source = SampleDataSource(
            sampleName=sampleName,
            uris=uris,
            fileNames=fileNames,
            nodeNames=nodeNames,
            thumbnailFileName=thumbnailFileName,
            loadFileType=loadFileType,
            loadFiles=loadFiles,
            loadFileProperties=loadFileProperties,
            checksums=checksums,
            customDownloader=customDownloader,
        )
        sources.setdefault(category, []).append(source)

    @staticmethod
    def sampleDataSourcesByCategory(category=None):
        import slicer

        sources = getattr(slicer.modules, "sampleDataSources", {})
        return sources if category is None else sources.get(category, [])


def click_sample(sample_name: str):
    """The user clicks the sample's thumbnail in the Sample Data module."""
    for sources in SampleDataLogic.sampleDataSourcesByCategory().values():
        for source in sources:
            if source.sampleName == sample_name:
                if source.customDownloader is None:
                    raise NotStoodIn("downloading sample data from the network is not stood in")
                return source.customDownloader(source)
    raise KeyError(f"no sample named {sample_name!r} is registered")


def module() -> types.ModuleType:
    sample_data = types.ModuleType("SampleData", __doc__)
    sample_data.SampleDataSource = SampleDataSource
    sample_data.SampleDataLogic = SampleDataLogic
    return sample_data
